"""The algorithms, one stage a module, in the order the data flows.

:mod:`~gridtsne.core.images` (decode safely), :mod:`~gridtsne.core.inputs` (what counts as an input),
:mod:`~gridtsne.core.model` (the ONNX model's spec), :mod:`~gridtsne.core.embed` (pictures to vectors),
:mod:`~gridtsne.core.reduce` (vectors to 2-D), :mod:`~gridtsne.core.assign` (2-D points to grid cells, solved
by :mod:`~gridtsne.core.lap`), :mod:`~gridtsne.core.refine` (local swaps that bring similar pictures
together after the assignment) and :mod:`~gridtsne.core.quality` (how good a grid is). Nothing here knows
about storage or AWS.
"""
