// Entry point of the cli app; see MISSION.md section 1. Its issue wires it up.
