"""The members registry: who belongs to the community, read from one file per member."""
