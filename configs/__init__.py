"""The experiment configs (`get_config(arg)` each); shipped as toyticket.configs."""
