"""One module per reproduced figure: ``figures/<paper>_<slug>.py`` exposes ``FIGURE``.

See :mod:`figures.base` for the protocol and :mod:`figures.registry` for discovery.
"""
