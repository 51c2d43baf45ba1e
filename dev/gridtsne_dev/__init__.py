"""gridtsne's development tools, never shipped in a Lambda layer or an image.

The embedded stack (the serverless application on the AWS emulator moto, in one process):
:mod:`~gridtsne_dev.stack` (:class:`~gridtsne_dev.stack.EmbeddedStack` ties the rest together),
:mod:`~gridtsne_dev.resources` (the resources, created from ``template.yaml``),
:mod:`~gridtsne_dev.intrinsics` (the template's ``Ref``/``GetAtt``/``Sub``/``If``, resolved locally),
:mod:`~gridtsne_dev.lambdas` (the real handlers answering Lambda invokes in-process),
:mod:`~gridtsne_dev.events` (the events AWS would send), :mod:`~gridtsne_dev.bus` (EventBridge's routing,
played locally), :mod:`~gridtsne_dev.contract` (the events' JSON Schemas) and :mod:`~gridtsne_dev.demo`
(``gridtsne local``).

Besides: :mod:`~gridtsne_dev.template` reads ``template.yaml``; :mod:`~gridtsne_dev.samples` writes the
sample images; :mod:`~gridtsne_dev.instances` makes assignment problems with a known optimum;
:mod:`~gridtsne_dev.commands` adds ``gridtsne local`` and ``gridtsne samples`` to the command line;
:mod:`~gridtsne_dev.layers` builds the Lambda layers for ``sam build``.
"""
