"""Widgets the embedwise screens share."""
from embedwise.tui.widgets.chart import ScatterChart
from embedwise.tui.widgets.field import FieldRow
from embedwise.tui.widgets.stepbar import StepBar

__all__ = ["FieldRow", "ScatterChart", "StepBar"]
