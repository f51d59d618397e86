"""The playlists domain's data products."""
