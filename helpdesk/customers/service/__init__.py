"""Customer rules: records, tags, consent, custom fields, purchases, contact notes, search.

Refusals carry lazy texts (helpdesk.text), so this package needs no Flask; they become
text in the viewer's language when the page shows them.

The rules are in the modules of this package, one per part of a customer: `customers`
(the records), `custom_fields` (definitions) and `field_values`, `purchases`, `notes`,
`search` (the list), `record_page`, and `errors` (the refusals). Callers use the names
below.
"""

from helpdesk.customers.service.custom_fields import (
    BUILTIN_COLUMNS,
    KEY_PATTERN,
    CustomFieldData,
    create_custom_field,
    delete_custom_field,
    get_custom_field_by_key,
    list_custom_fields,
    update_custom_field,
)
from helpdesk.customers.service.customers import (
    CustomerData,
    create_customer,
    delete_customer,
    find_customer_by_email,
    find_customer_by_external_id,
    get_customer,
    set_subscription,
    tags_named,
    update_customer,
)
from helpdesk.customers.service.errors import (
    CustomerInvalid,
    CustomFieldInvalid,
    FilterInvalid,
    InvalidInput,
    NoteInvalid,
    PurchaseInvalid,
)
from helpdesk.customers.service.field_values import (
    LANGUAGE_FIELD_KEY,
    MAX_TEXT_VALUE,
    FieldValue,
    FieldValueError,
    customer_language,
    field_values_by_key,
    format_decimal,
    format_field_value,
    parse_decimal,
    parse_field_value,
    set_field_value,
    typed_value,
)
from helpdesk.customers.service.notes import (
    MAX_NOTE,
    add_note,
    notes_of,
)
from helpdesk.customers.service.orders import (
    MAX_ORDERS,
    OrderData,
    OrderResult,
    OrdersInvalid,
    upsert_orders,
)
from helpdesk.customers.service.purchases import (
    Money,
    add_purchase,
    lifetime_value,
    lifetime_values,
    purchases_after,
    purchases_of,
)
from helpdesk.customers.service.record_page import (
    CustomerRecord,
    customer_record,
    customer_timeline_page,
)
from helpdesk.customers.service.search import (
    SORTS,
    CustomerFilter,
    all_tags,
    count_customers,
    customer_statement,
    customers_after,
    customers_by_ids,
    matching_ids,
    search_customers,
    spend_sorts_by_count,
)

__all__ = [
    "BUILTIN_COLUMNS",
    "CustomFieldData",
    "CustomFieldInvalid",
    "CustomerData",
    "CustomerFilter",
    "CustomerInvalid",
    "CustomerRecord",
    "FieldValue",
    "FieldValueError",
    "FilterInvalid",
    "InvalidInput",
    "KEY_PATTERN",
    "LANGUAGE_FIELD_KEY",
    "MAX_NOTE",
    "MAX_ORDERS",
    "MAX_TEXT_VALUE",
    "Money",
    "NoteInvalid",
    "OrderData",
    "OrderResult",
    "OrdersInvalid",
    "PurchaseInvalid",
    "SORTS",
    "add_note",
    "add_purchase",
    "all_tags",
    "count_customers",
    "create_custom_field",
    "create_customer",
    "customer_language",
    "customer_record",
    "customer_timeline_page",
    "customer_statement",
    "customers_after",
    "customers_by_ids",
    "delete_custom_field",
    "delete_customer",
    "field_values_by_key",
    "find_customer_by_email",
    "find_customer_by_external_id",
    "format_decimal",
    "format_field_value",
    "get_custom_field_by_key",
    "get_customer",
    "lifetime_value",
    "lifetime_values",
    "list_custom_fields",
    "matching_ids",
    "notes_of",
    "parse_decimal",
    "parse_field_value",
    "purchases_after",
    "purchases_of",
    "search_customers",
    "set_field_value",
    "set_subscription",
    "spend_sorts_by_count",
    "tags_named",
    "typed_value",
    "update_custom_field",
    "update_customer",
    "upsert_orders",
]
