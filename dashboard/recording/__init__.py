"""The one event log: events, their fold into the model, and recording and replaying them."""
