"""Notebook widgets: :class:`RecordingPanel` (start and stop recordings) and :class:`Dashboard`
(filters, a summary and charts over callback logs, optionally live), with the two controls the
dashboard is made of that are useful on their own: :class:`DayField` (a UTC day typed as
``YYYY-MM-DD``) and :class:`ConferencePicker` (many names, with search, select-all and clear).

Both are ``ipywidgets.VBox`` subclasses with their parts as attributes, so a test or a notebook
can set ``.value`` and call ``.click()`` exactly as a person would use them. Work that takes time
(HTTP requests, reloading a log) runs on the widget's own thread; the widgets are updated by
assigning trait values, which ipywidgets sends to the browser from any thread.
"""

from __future__ import annotations

from ._dashboard import METRICS, Dashboard
from ._day import DayField
from ._panel import RecordingPanel
from ._picker import ConferencePicker

__all__ = ["METRICS", "ConferencePicker", "Dashboard", "DayField", "RecordingPanel"]
