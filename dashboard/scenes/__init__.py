"""Scenes: the article as a guided tour. A talk is a TOML file of scenes (talk.py reads it); each
scene's prediction comes from the law (law.py); firing one switches, loads and is judged (play.py)."""
