"""Labels: GS1 element strings, symbols, the label kinds, and their PNG, SVG, ZPL and PDF drawings."""

from server.labels.controllers import LabelController, LocationLabelController

__all__ = ["LabelController", "LocationLabelController"]
