// Entry point of the controller app; see MISSION.md section 1. Its issue wires it up.
