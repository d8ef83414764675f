"""The ``meseta`` CLI (``actors.cli.main``), one module per verb, and the trace model
(``actors.cli.trace_model``) the master's ``/master/trace`` shares."""
