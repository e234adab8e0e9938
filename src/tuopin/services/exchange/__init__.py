"""Bulk exchange with other systems: whole kinds streamed as files, and a feed of changes."""
