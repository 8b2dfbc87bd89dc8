"""The supplier simulator: a real HTTP server speaking the supplier dialects of
`fulfillment.suppliers` (see docs/suppliers.md), with fault knobs. Started by
`python manage.py run_supplier_simulator --port N --dialect both`."""

from fulfillment.simulator.server import DEFAULT_CREDENTIALS, Knobs, SupplierSimulator

__all__ = ["DEFAULT_CREDENTIALS", "Knobs", "SupplierSimulator"]
