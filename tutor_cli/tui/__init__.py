"""The call screen: a Textual app that is a view over a Call (`tutor call ID`)."""
