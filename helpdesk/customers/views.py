"""Customer pages: the list with search and export, the record, and custom field settings."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_currency, format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from helpdesk import nav
from helpdesk.auth.models import Role
from helpdesk.auth.permissions import ALL_STAFF, SUPPORT, roles_required
from helpdesk.customers import service
from helpdesk.customers.export import export_csv
from helpdesk.customers.forms import (
    CUSTOM_FIELD_PREFIX,
    CustomerForm,
    CustomFieldForm,
    DeleteForm,
    NoteForm,
    PurchaseForm,
    customer_form_class,
)
from helpdesk.customers.models import Customer, CustomField
from helpdesk.customers.timeline import BadCursor, Cursor
from helpdesk.db import utcnow
from helpdesk.i18n import select_timezone
from helpdesk.web import Page, db_session, page_number

bp = Blueprint("customers", __name__)
nav.add_main("customers.index", _l("Customers"), ALL_STAFF, order=20)
nav.add_setting(
    "customers.custom_fields",
    _l("Custom fields"),
    _l("Extra fields on every customer record: plan, birthday, region, ..."),
    order=20,
)

PAGE_SIZE = 25


@bp.app_template_filter("money")
def money(amount, currency: str) -> str:
    return format_currency(amount, currency)


@bp.app_template_filter("local_date")
def local_date(value) -> str:
    return format_date(value)


@bp.app_template_filter("number")
def number(value) -> str:
    return format_decimal(value, format="#,##0.####")


FILTER_ARGS = ("q", "tag", "status", "field", "value", "sort")


def _filter_from_request() -> service.CustomerFilter:
    args = request.args
    sort = args.get("sort", "name")
    return service.CustomerFilter(
        text=args.get("q", "")[:200],
        tag=args.get("tag", "")[:64],
        status=args.get("status", ""),
        field_key=args.get("field", ""),
        field_value=args.get("value", "")[:200],
        sort=sort if sort in service.SORTS else "name",
    )


def _filter_args() -> dict[str, str]:
    return {k: request.args[k] for k in FILTER_ARGS if request.args.get(k)}


def _user_zone() -> ZoneInfo:
    return ZoneInfo(select_timezone())


def _show_errors(form, exc: service.InvalidInput) -> None:
    for name, message in exc.errors.items():
        if name in form:
            form[name].errors = [*form[name].errors, str(message)]
        else:
            form.form_errors.append(str(message))


def _status(form) -> int:
    return 400 if form.errors else 200


@bp.get("/customers")
@roles_required(*ALL_STAFF)
def index():
    session = db_session()
    flt = _filter_from_request()
    number = page_number()
    error = None
    try:
        customers, total = service.search_customers(
            session, flt, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
    except service.FilterInvalid as exc:
        customers, total, error = [], 0, exc
    page = Page(number=number, size=PAGE_SIZE, total=total)
    context = dict(
        customers=customers,
        page=page,
        flt=flt,
        filter_args=_filter_args(),
        filter_errors={k: str(m) for k, m in error.errors.items()} if error else {},
        has_customers=bool(customers) or service.count_customers(session) > 0,
        ltv=service.lifetime_values(session, [c.id for c in customers]),
        custom_fields=service.list_custom_fields(session),
        tags=service.all_tags(session),
        spend_by_count=service.spend_sorts_by_count(session),
    )
    return render_template("customers/index.html", **context), 400 if error else 200


@bp.get("/customers/export")
@roles_required(*ALL_STAFF)
def export():
    session = db_session()
    try:
        chunks = export_csv(session, _filter_from_request())
    except service.FilterInvalid as exc:
        message = "; ".join(str(m) for m in exc.errors.values())
        return render_template("error.html", code=400, message=message), 400
    # The rows are read in their own sessions, so the request's session can close now
    # instead of staying open for the whole download.
    session.close()
    filename = f"customers-{utcnow():%Y%m%d-%H%M}.csv"
    return Response(
        chunks,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Type": "text/csv; charset=utf-8",
        },
    )


def _customer_data(form: CustomerForm) -> service.CustomerData:
    return service.CustomerData(
        email=form.email.data or "",
        name=form.name.data or "",
        given_name=form.given_name.data or "",
        family_name=form.family_name.data or "",
        phone=form.phone.data or "",
        company=form.company.data or "",
        tags=form.tags.data or "",
        subscription_status=form.subscription_status.data,
        consent_source=form.consent_source.data or f"manual by {current_user.email}",
        fields=form.custom_values(),
    )


@bp.route("/customers/new", methods=["GET", "POST"])
@roles_required(*ALL_STAFF)
def new():
    session = db_session()
    form = customer_form_class(service.list_custom_fields(session))()
    if form.validate_on_submit():
        try:
            customer = service.create_customer(session, _customer_data(form))
        except service.CustomerInvalid as exc:
            session.rollback()
            _show_errors(form, exc)
        else:
            session.commit()
            flash(_("Customer %(email)s created.", email=customer.email), "success")
            return redirect(url_for("customers.detail", customer_id=customer.id))
    return render_template("customers/form.html", form=form, customer=None), _status(form)


def _customer_or_404(customer_id: int) -> Customer:
    return service.get_customer(db_session(), customer_id) or abort(404)


def _initial_data(customer: Customer, custom_fields: list[CustomField]) -> dict[str, str]:
    values = {v.field_id: service.typed_value(v) for v in customer.field_values}
    data = {
        "email": customer.email,
        "name": customer.name,
        # Derived parts stay out of the inputs (the page shows them as placeholders), so
        # saving the form unchanged keeps them following the name.
        "given_name": customer.given_name if customer.name_parts_entered else "",
        "family_name": customer.family_name if customer.name_parts_entered else "",
        "phone": customer.phone,
        "company": customer.company,
        "tags": ", ".join(t.name for t in customer.tags),
        "subscription_status": customer.subscription_status.value,
        "consent_source": customer.consent_source,
    }
    for f in custom_fields:
        data[CUSTOM_FIELD_PREFIX + f.key] = service.format_field_value(f, values.get(f.id))
    return data


@bp.route("/customers/<int:customer_id>/edit", methods=["GET", "POST"])
@roles_required(*ALL_STAFF)
def edit(customer_id: int):
    session = db_session()
    customer = _customer_or_404(customer_id)
    custom_fields = service.list_custom_fields(session)
    form_class = customer_form_class(custom_fields)
    form = (
        form_class()
        if request.method == "POST"
        else form_class(data=_initial_data(customer, custom_fields))
    )
    if form.validate_on_submit():
        try:
            service.update_customer(session, customer, _customer_data(form))
        except service.CustomerInvalid as exc:
            session.rollback()
            _show_errors(form, exc)
        else:
            session.commit()
            flash(_("Customer %(email)s saved.", email=customer.email), "success")
            return redirect(url_for("customers.detail", customer_id=customer.id))
    return render_template("customers/form.html", form=form, customer=customer), _status(form)


def _render_record(customer: Customer, purchase_form=None, note_form=None, status=200):
    record = service.customer_record(db_session(), customer, current_user.role)
    local_now = datetime.now(_user_zone())
    if purchase_form is None:
        purchase_form = PurchaseForm(formdata=None, purchased_at=local_now.date().isoformat())
    if note_form is None:
        note_form = NoteForm(formdata=None, happened_at=local_now.strftime("%Y-%m-%dT%H:%M"))
    can_write_notes = current_user.role in SUPPORT
    return (
        render_template(
            "customers/detail.html",
            record=record,
            customer=customer,
            purchase_form=purchase_form,
            note_form=note_form if can_write_notes else None,
            can_delete=current_user.role == Role.admin,
            can_start_ticket=current_user.role in SUPPORT,
        ),
        status,
    )


@bp.get("/customers/<int:customer_id>")
@roles_required(*ALL_STAFF)
def detail(customer_id: int):
    return _render_record(_customer_or_404(customer_id))


@bp.get("/customers/<int:customer_id>/timeline")
@roles_required(*ALL_STAFF)
def timeline(customer_id: int):
    """Older timeline entries than the customer page shows, a page at a time."""
    customer = _customer_or_404(customer_id)
    try:
        after = Cursor.parse(request.args.get("before", ""))
    except BadCursor:
        message = _("That is not a place in the timeline. Open the customer's page again.")
        return render_template("error.html", code=400, message=message), 400
    page = service.customer_timeline_page(db_session(), customer.id, current_user.role, after)
    return render_template("customers/timeline.html", customer=customer, page=page)


@bp.post("/customers/<int:customer_id>/purchases")
@roles_required(*ALL_STAFF)
def add_purchase(customer_id: int):
    session = db_session()
    customer = _customer_or_404(customer_id)
    form = PurchaseForm()
    if form.validate_on_submit():
        try:
            service.add_purchase(
                session,
                customer,
                product=form.product.data or "",
                quantity=form.quantity.data or "",
                amount=form.amount.data or "",
                currency=form.currency.data or "",
                purchased_at=form.purchased_at.data or "",
                order_ref=form.order_ref.data,
                tz=_user_zone(),
            )
        except service.PurchaseInvalid as exc:
            session.rollback()
            _show_errors(form, exc)
        else:
            session.commit()
            flash(_("Purchase added."), "success")
            return redirect(url_for("customers.detail", customer_id=customer.id) + "#purchases")
    return _render_record(customer, purchase_form=form, status=400)


@bp.post("/customers/<int:customer_id>/notes")
@roles_required(*SUPPORT)
def add_note(customer_id: int):
    session = db_session()
    customer = _customer_or_404(customer_id)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            service.add_note(
                session,
                customer,
                author_id=current_user.id,
                kind=form.kind.data,
                happened_at=form.happened_at.data or "",
                body=form.body.data or "",
                tz=_user_zone(),
            )
        except service.NoteInvalid as exc:
            session.rollback()
            _show_errors(form, exc)
        else:
            session.commit()
            flash(_("Note saved."), "success")
            return redirect(url_for("customers.detail", customer_id=customer.id) + "#notes")
    return _render_record(customer, note_form=form, status=400)


@bp.route("/customers/<int:customer_id>/delete", methods=["GET", "POST"])
@roles_required(Role.admin)
def delete(customer_id: int):
    session = db_session()
    customer = _customer_or_404(customer_id)
    form = DeleteForm()
    if form.validate_on_submit():
        email = customer.email
        try:
            service.delete_customer(session, customer)
        except service.CustomerInvalid as exc:
            _show_errors(form, exc)
        else:
            session.commit()
            flash(_("Customer %(email)s deleted.", email=email), "success")
            return redirect(url_for("customers.index"))
    return render_template("customers/delete.html", form=form, customer=customer), _status(form)


@bp.get("/admin/custom-fields")
@roles_required(Role.admin)
def custom_fields():
    fields = service.list_custom_fields(db_session())
    return render_template("customers/custom_fields.html", fields=fields, form=DeleteForm())


def _custom_field_data(form: CustomFieldForm) -> service.CustomFieldData:
    return service.CustomFieldData(
        key=form.key.data or "",
        label=form.label.data or "",
        field_type=form.field_type.data,
        choices=form.choices.data or "",
        position=form.position.data or 0,
    )


@bp.route("/admin/custom-fields/new", methods=["GET", "POST"])
@roles_required(Role.admin)
def new_custom_field():
    session = db_session()
    form = CustomFieldForm()
    if form.validate_on_submit():
        try:
            custom_field = service.create_custom_field(session, _custom_field_data(form))
        except service.CustomFieldInvalid as exc:
            session.rollback()
            _show_errors(form, exc)
        else:
            session.commit()
            flash(_("Custom field %(label)s created.", label=custom_field.label), "success")
            return redirect(url_for("customers.custom_fields"))
    return render_template("customers/custom_field_form.html", form=form, field=None), _status(form)


@bp.route("/admin/custom-fields/<int:field_id>", methods=["GET", "POST"])
@roles_required(Role.admin)
def edit_custom_field(field_id: int):
    session = db_session()
    custom_field = session.get(CustomField, field_id) or abort(404)
    form = CustomFieldForm(
        formdata=request.form if request.method == "POST" else None,
        data={
            "key": custom_field.key,
            "label": custom_field.label,
            "field_type": custom_field.field_type.value,
            "choices": "\n".join(custom_field.choices),
            "position": custom_field.position,
        },
    )
    if form.validate_on_submit():
        try:
            service.update_custom_field(session, custom_field, _custom_field_data(form))
        except service.CustomFieldInvalid as exc:
            session.rollback()
            _show_errors(form, exc)
        else:
            session.commit()
            flash(_("Custom field %(label)s saved.", label=custom_field.label), "success")
            return redirect(url_for("customers.custom_fields"))
    return render_template(
        "customers/custom_field_form.html", form=form, field=custom_field
    ), _status(form)


@bp.post("/admin/custom-fields/<int:field_id>/delete")
@roles_required(Role.admin)
def delete_custom_field(field_id: int):
    session = db_session()
    custom_field = session.get(CustomField, field_id) or abort(404)
    if not DeleteForm().validate_on_submit():
        abort(400)
    label = custom_field.label
    service.delete_custom_field(session, custom_field)
    session.commit()
    flash(_("Custom field %(label)s deleted with its values.", label=label), "success")
    return redirect(url_for("customers.custom_fields"))
