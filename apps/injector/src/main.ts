// Entry point of the injector app; see MISSION.md section 1. Its issue wires it up.
