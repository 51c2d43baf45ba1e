"""The serverless application's side of the library: what the Lambda handlers and the big-set job call.

:mod:`~gridtsne.aws.settings` (the deployment's environment), :mod:`~gridtsne.aws.events` (events in and
out), :mod:`~gridtsne.aws.vectors` (a collection's vector shards), :mod:`~gridtsne.aws.job` (a job's
parameters, id and record), :mod:`~gridtsne.aws.table` (the DynamoDB job table),
:mod:`~gridtsne.aws.progress` (a running job's progress, written to its record sparingly),
:mod:`~gridtsne.aws.uploads` (embedding uploads as they arrive), :mod:`~gridtsne.aws.steps` (the state
machine's steps), :mod:`~gridtsne.aws.submit` (the one way a job is created, from every door),
:mod:`~gridtsne.aws.requests` (what an event asks for), :mod:`~gridtsne.aws.view` (a job as the API shows
it) and :mod:`~gridtsne.aws.reconcile` (a job whose execution ended without recording its outcome).
"""
