"""The application layer's command groups: each module is one `solmeter` group (or single command), mounted
lazily by solmeter/cli.py GROUPS (a group's heavy commands live in their own module, loaded by name through
solmeter/lazy.py: meter_commands.py, operator_service.py), with the helpers they share (common.py, render.py,
progress.py, log_levels.py). They sit above every library package, so they wire the libraries together; the
libraries take explicit parameters and never import from here."""
