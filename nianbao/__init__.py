"""The jobs that drive the pipeline: the parse stage over stored captures (``process``),
the nightly job, the demo, and the ``nianbao`` command line.

Only this layer imports ``crawler`` and ``simweb``; the stages below it never do.
"""
