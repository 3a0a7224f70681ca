"""Layout text -> :class:`~axe.Layout`: :func:`parse_layout` is :meth:`axe.Layout.parse` (cached).

This module only gathers the names: the grammar, its caret-pointing errors and
:func:`~axe.syntax.parse_parts` are in :mod:`axe.syntax` (below the layout class), and the
cached constructor is in :mod:`axe.layout` (``Layout.parse`` and ``Layout("S[...]")`` use it).

>>> str(parse_layout("S[4,8]"))
'S[(4,8):(8,1)]'
"""

from .layout import parse_layout
from .syntax import LayoutSyntaxError, parse_parts

__all__ = ["LayoutSyntaxError", "parse_layout", "parse_parts"]
