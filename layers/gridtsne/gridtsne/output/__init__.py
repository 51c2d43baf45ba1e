"""What a run produces: :mod:`~gridtsne.output.layout` (the ``layout.json`` contract),
:mod:`~gridtsne.output.files` (the files a layout becomes), :mod:`~gridtsne.output.render` (mosaic and
scatter), :mod:`~gridtsne.output.tiles` (deep-zoom pyramid), :mod:`~gridtsne.output.parts` (their work
over several processes) and :mod:`~gridtsne.output.viewer` (the HTML page, from ``templates/``).
"""
