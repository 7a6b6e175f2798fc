"""The Rasa assistant: domain and training data for Rasa (Python 3.10, its own
virtualenv), custom actions for the rasa-sdk action server (Python 3.11)."""
