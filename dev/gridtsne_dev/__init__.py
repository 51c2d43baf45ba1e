"""gridtsne's development tools, never shipped in a Lambda layer or an image.

:mod:`~gridtsne_dev.stack` runs the serverless application on an embedded AWS emulator (moto);
:mod:`~gridtsne_dev.samples` writes the sample images; :mod:`~gridtsne_dev.commands` adds ``gridtsne local``
and ``gridtsne samples`` to the command line; :mod:`~gridtsne_dev.layers` builds the Lambda layers for
``sam build``.
"""
