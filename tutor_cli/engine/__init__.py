"""The offline engine: a local OpenAI-Realtime-compatible server with a scenario-scripted tutor."""
