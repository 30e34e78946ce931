"""Wire-level fakes of the Deephaven Enterprise services, for running the real Core+ client.

See :mod:`tests.enterprise.wire.harness` for how the pieces fit together and
:mod:`tests.enterprise.wire.fixtures` for the pytest fixtures.
"""
