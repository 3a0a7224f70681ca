"""Device meshes bound to processes and the collectives layouts imply (distributed issue)."""
