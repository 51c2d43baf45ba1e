"""The Lambda layers of ``template.yaml``, built for the ``python3.12`` runtime on x86_64.

``sam build`` builds them: each layer resource has ``BuildMethod: makefile`` and a Makefile in its
``ContentUri`` that runs ``python -m gridtsne_dev.layers build <LogicalId> $(ARTIFACTS_DIR)``.

:mod:`~gridtsne_dev.layers.build` holds each layer's recipe and the cache under ``build/layers/``;
:mod:`~gridtsne_dev.layers.deps` installs the third-party runtime for the Lambda platform and splits it into
three layers; :mod:`~gridtsne_dev.layers.trim` removes what the functions never load;
:mod:`~gridtsne_dev.layers.sizes` measures what each function ships.
"""
