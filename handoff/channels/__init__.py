"""Customer channels, one module each: an input side that turns the channel's requests
into customer messages for `Conversations.receive`, and an output side that gets the
replies back to the customer."""
