"""Custom actions, loaded by the rasa-sdk action server (`python -m rasa_sdk --actions
bot.actions`). Importing this package loads the knowledge base, so the model and the
index are ready before the server accepts its first call."""
