"""Bringing people in: new member files, feed discovery and previews, importing other
aggregators' lists, and new community sites (``chorus init``)."""
