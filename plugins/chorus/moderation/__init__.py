"""Moderation that sticks: a member leaving, one post taken down, drafts rejected.

Each step changes the post files and records what it did in the takedowns file
(chorus.members.takedowns), so that no later fetch undoes it.
"""
