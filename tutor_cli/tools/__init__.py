"""Tools the tutor can call; they run on the learner's machine."""
