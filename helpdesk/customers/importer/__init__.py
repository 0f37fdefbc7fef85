"""CSV import of customers and purchases: decode, validate every row, then bulk upsert.

An import runs in two steps. `plan_import` reads the whole file and validates every row
without writing anything (the preview uses it as the dry run); `apply_plan` writes the
valid rows in batches, so 100,000 rows take seconds, not minutes. A row with any error
is skipped whole; every batch is one transaction, so a row's customer, tags and custom
field values land together or not at all.

The cell rules are the ones the forms use (`normalize_email`, `normalize_phone`,
`service.parse_field_value`); a file is checked column by column, and columns with few
distinct values (tags, statuses, custom fields) are parsed once per distinct value.

Errors carry a code and parameters rather than English text: they are stored with the
import job and translated when a page or the error report shows them.

The package's modules follow a file through: `files` (decoding, records), `headers` (the
columns a file may have), `customers` and `purchases` (validating and writing each kind),
`bulk` (the SQL that writes many rows at once), `steps` (plan and apply), `plan` (what
planning yields) and `uploads` (the stored import jobs). Callers use the names below.
"""

from helpdesk.customers.importer.customers import CONSENT_SOURCE, plan_customers
from helpdesk.customers.importer.files import CsvFile, ImportFileError, read_csv
from helpdesk.customers.importer.headers import check_file, custom_field_keys
from helpdesk.customers.importer.plan import (
    BatchResult,
    CustomerRow,
    ImportPlan,
    PurchaseRow,
    RowError,
)
from helpdesk.customers.importer.purchases import plan_purchases
from helpdesk.customers.importer.steps import BATCH_SIZE, apply_plan, plan_import
from helpdesk.customers.importer.uploads import (
    ImportNotFound,
    create_import,
    discard_import,
    get_import,
    mark_queued,
    recent_imports,
)

__all__ = [
    "BATCH_SIZE",
    "CONSENT_SOURCE",
    "BatchResult",
    "CsvFile",
    "CustomerRow",
    "ImportFileError",
    "ImportNotFound",
    "ImportPlan",
    "PurchaseRow",
    "RowError",
    "apply_plan",
    "check_file",
    "create_import",
    "custom_field_keys",
    "discard_import",
    "get_import",
    "mark_queued",
    "plan_customers",
    "plan_import",
    "plan_purchases",
    "read_csv",
    "recent_imports",
]
