"""The Messenger Platform edge: webhook intake, event parsing, the Graph/Send API client and policy."""
