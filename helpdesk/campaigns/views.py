"""Segment rule builder and campaign editor pages (marketers and admins)."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from wtforms import SelectChoice

from helpdesk import nav
from helpdesk.auth.permissions import MARKETING, roles_required
from helpdesk.campaigns import editor_jobs, identities, marketing_rules, sending, service
from helpdesk.campaigns.forms import (
    TEMPLATE_VARIABLES,
    CampaignForm,
    MarketingRulesForm,
    ScheduleForm,
    SegmentForm,
    TestSendForm,
)
from helpdesk.campaigns.jobs import enqueuer
from helpdesk.campaigns.models import Campaign, CampaignStatus
from helpdesk.campaigns.rendering import TemplateProblem
from helpdesk.campaigns.report_views import current_figures
from helpdesk.campaigns.segments import (
    CUSTOM_OPS,
    FIELD_OPS,
    SegmentError,
    count_and_sample,
)
from helpdesk.customers import service as customer_service
from helpdesk.db import utcnow
from helpdesk.web import bounded_int, db_session
from helpdesk.web.headers import MAIL_STYLES, content_security_policy

bp = Blueprint("campaigns", __name__)
nav.add_main("campaigns.index", _l("Campaigns"), MARKETING, order=30)

SAMPLE_SIZE = 10

CAMPAIGN_STATUS_LABELS = {
    CampaignStatus.draft: _l("Draft"),
    CampaignStatus.scheduled: _l("Scheduled"),
    CampaignStatus.sending: _l("Sending"),
    CampaignStatus.paused: _l("Paused"),
    CampaignStatus.sent: _l("Sent"),
    CampaignStatus.cancelled: _l("Cancelled"),
}


@bp.app_context_processor
def _campaign_labels():
    return {"campaign_status_labels": CAMPAIGN_STATUS_LABELS}


def _config():
    return current_app.config["HELPDESK"]


def _or_404(getter, *args):
    try:
        return getter(db_session(), *args)
    except service.NotFound:
        abort(404)


# --- segments -------------------------------------------------------------------------


def _builder_fields() -> list[dict]:
    """What the rule builder offers: each field with its ops and value kind."""
    fields = [
        {"key": key, "ops": list(ops), "kind": kind, "label": str(label)}
        for key, ops, kind, label in (
            ("email", FIELD_OPS["email"], "text", _("Email")),
            ("name", FIELD_OPS["name"], "text", _("Name")),
            ("given_name", FIELD_OPS["given_name"], "text", _("Given name")),
            ("family_name", FIELD_OPS["family_name"], "text", _("Family name")),
            ("company", FIELD_OPS["company"], "text", _("Company")),
            ("created_at", FIELD_OPS["created_at"], "date", _("Customer since")),
            ("subscription_status", FIELD_OPS["subscription_status"], "status", _("Newsletter")),
            ("tag", FIELD_OPS["tag"], "text", _("Tag")),
            ("purchase.product", FIELD_OPS["purchase.product"], "text", _("Bought product")),
            ("purchase.total", FIELD_OPS["purchase.total"], "number", _("Total spend")),
            ("purchase.last", FIELD_OPS["purchase.last"], "date", _("Last purchase")),
            ("engagement.opened", FIELD_OPS["engagement.opened"], "days", _("Opened a campaign")),
            (
                "engagement.clicked",
                FIELD_OPS["engagement.clicked"],
                "days",
                _("Clicked a campaign"),
            ),
            ("ticket.open", FIELD_OPS["ticket.open"], "none", _("Open ticket")),
            ("ticket.contacted", FIELD_OPS["ticket.contacted"], "days", _("Contacted support")),
        )
    ]
    for custom_field in customer_service.list_custom_fields(db_session()):
        fields.append(
            {
                "key": f"custom.{custom_field.key}",
                "ops": list(CUSTOM_OPS[custom_field.field_type]),
                "kind": custom_field.field_type.value,
                "label": custom_field.label,
                "choices": list(custom_field.choices or []),
            }
        )
    return fields


def _op_labels() -> dict[str, str]:
    return {
        "eq": _("is"),
        "neq": _("is not"),
        "contains": _("contains"),
        "not_contains": _("does not contain"),
        "ends_with": _("ends with"),
        "is_empty": _("is empty"),
        "is_not_empty": _("is not empty"),
        "is_set": _("has a value"),
        "is_not_set": _("has no value"),
        "is_true": _("is yes"),
        "is_false": _("is no"),
        "in": _("is one of"),
        "not_in": _("is none of"),
        "gt": _("is more than"),
        "gte": _("is at least"),
        "lt": _("is less than"),
        "lte": _("is at most"),
        "before": _("is before"),
        "after": _("is after"),
        "within_days": _("within the last N days"),
        "never": _("never"),
        "has": _("has"),
        "has_not": _("does not have"),
        "bought": _("bought"),
        "not_bought": _("never bought"),
    }


def _segment_page(form: SegmentForm, segment, *, preview=None, error=None, status=200):
    return (
        render_template(
            "campaigns/segment_form.html",
            form=form,
            segment=segment,
            preview=preview,
            rules_error=error,
            builder={"fields": _builder_fields(), "ops": _op_labels()},
        ),
        status,
    )


@bp.get("/segments")
@roles_required(*MARKETING)
def segments():
    return render_template("campaigns/segments.html", segments=service.list_segments(db_session()))


def _segment_data(form: SegmentForm) -> service.SegmentData:
    return service.SegmentData(
        name=form.name.data or "",
        description=form.description.data or "",
        rules=form.rules.data or "",
    )


def _preview_rules(form: SegmentForm, segment):
    """The plain-form "Preview" button: count and sample without saving."""
    session = db_session()
    try:
        rules = service.parse_rules(form.rules.data or "")
        total, sample = count_and_sample(session, rules, sample_size=SAMPLE_SIZE)
    except SegmentError as exc:
        return _segment_page(form, segment, error=str(exc), status=400)
    return _segment_page(form, segment, preview={"count": total, "sample": sample})


def _save_segment(form: SegmentForm, segment):
    session = db_session()
    try:
        if segment is None:
            saved = service.create_segment(session, _segment_data(form), user_id=current_user.id)
        else:
            saved = service.update_segment(session, segment.id, _segment_data(form))
    except service.SegmentInvalid as exc:
        session.rollback()
        for key, message in exc.errors.items():
            if key != "rules":
                getattr(form, key).errors = [*getattr(form, key).errors, message]
        return _segment_page(form, segment, error=exc.errors.get("rules"), status=400)
    session.commit()
    flash(_("Segment %(name)s saved.", name=saved.name), "success")
    return redirect(url_for("campaigns.edit_segment", segment_id=saved.id))


@bp.route("/segments/new", methods=["GET", "POST"])
@roles_required(*MARKETING)
def new_segment():
    form = SegmentForm()
    if request.method == "GET":
        form.rules.data = '{"match": "all", "groups": []}'
    if form.validate_on_submit():
        if request.form.get("action") == "preview":
            return _preview_rules(form, None)
        return _save_segment(form, None)
    return _segment_page(form, None, status=400 if request.method == "POST" else 200)


@bp.route("/segments/<int:segment_id>", methods=["GET", "POST"])
@roles_required(*MARKETING)
def edit_segment(segment_id: int):
    segment = _or_404(service.get_segment, segment_id)
    form = SegmentForm(
        data=None
        if request.method == "POST"
        else {
            "name": segment.name,
            "description": segment.description,
            "rules": json.dumps(segment.rules, ensure_ascii=False, indent=2),
        }
    )
    if form.validate_on_submit():
        if request.form.get("action") == "preview":
            return _preview_rules(form, segment)
        return _save_segment(form, segment)
    return _segment_page(form, segment, status=400 if request.method == "POST" else 200)


@bp.post("/segments/<int:segment_id>/delete")
@roles_required(*MARKETING)
def delete_segment(segment_id: int):
    session = db_session()
    segment = _or_404(service.get_segment, segment_id)
    name = segment.name
    service.delete_segment(session, segment_id)
    session.commit()
    flash(_("Segment %(name)s deleted.", name=name), "success")
    return redirect(url_for("campaigns.segments"))


@bp.post("/segments/preview.json")
@roles_required(*MARKETING)
def segment_preview():
    """Live count and sample for the rule builder; 400 with the message for bad rules."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or "rules" not in payload:
        return jsonify(error=_('Send the rules as JSON: {"rules": {...}}.')), 400
    try:
        total, sample = count_and_sample(
            db_session(), service.parse_rules(payload["rules"]), sample_size=SAMPLE_SIZE
        )
    except SegmentError as exc:
        return jsonify(error=str(exc)), 400
    return jsonify(
        count=total,
        sample=[
            {
                "id": c.id,
                "email": c.email,
                "name": c.name,
                "url": url_for("customers.detail", customer_id=c.id),
            }
            for c in sample
        ],
    )


# --- campaigns ------------------------------------------------------------------------


@bp.get("/campaigns")
@roles_required(*MARKETING)
def index():
    return render_template("campaigns/index.html", rows=service.list_campaigns(db_session()))


def _campaign_form(campaign: Campaign | None) -> CampaignForm:
    if request.method == "POST":
        form = CampaignForm()
    elif campaign is None:
        form = CampaignForm(formdata=None)
    else:
        form = CampaignForm(
            formdata=None,
            obj=campaign,
            segment_id=str(campaign.segment_id or ""),
            hold_action=campaign.hold_action.value,
            text_body=campaign.text_body if campaign.text_edited else "",
        )
    form.segment_id.choices = [SelectChoice("", _("— choose a segment —"))] + [
        SelectChoice(str(s.id), s.name) for s in service.list_segments(db_session())
    ]
    verified = identities.verified_identities(db_session())
    form.sending_identity_id.choices = [
        SelectChoice(str(i.id), f"{i.name} <{i.email}>" if i.name else i.email) for i in verified
    ]
    if request.method != "POST" and verified:
        chosen = campaign.sending_identity_id if campaign else None
        default = next((i.id for i in verified if i.is_default), verified[0].id)
        form.sending_identity_id.data = str(chosen or default)
    return form


def _campaign_data(form: CampaignForm) -> service.CampaignData:
    raw_segment = form.segment_id.data or ""
    return service.CampaignData(
        name=form.name.data or "",
        subject=form.subject.data or "",
        from_name=form.from_name.data or "",
        from_email=form.from_email.data or "",
        reply_to=form.reply_to.data or "",
        html_body=form.html_body.data or "",
        text_body=form.text_body.data or "",
        segment_id=bounded_int(raw_segment),
        hold_action=form.hold_action.data or "",
        advertising=bool(form.advertising.data),
        sending_identity_id=_identity_choice(form),
    )


def _identity_choice(form: CampaignForm) -> int | None:
    """The chosen identity's id; 0 (no such identity, refused by the service) for a value
    that is not an id, so a forged choice is an error rather than the default."""
    if not form.sending_identity_id.choices:
        return None
    raw = form.sending_identity_id.data or ""
    return bounded_int(raw) or 0 if raw else None


def _editor_page(campaign, form=None, *, test_form=None, schedule_form=None, status=200):
    form = form or _campaign_form(campaign)
    editable = campaign is None or campaign.status in service.EDITABLE
    return (
        render_template(
            "campaigns/form.html",
            campaign=campaign,
            form=form,
            test_form=test_form or TestSendForm(formdata=None),
            schedule_form=schedule_form or ScheduleForm(formdata=None),
            editable=editable,
            figures=None if editable else current_figures(campaign.id),
            timezone=current_user.timezone or _config().default_timezone,
            template_variables=TEMPLATE_VARIABLES,
        ),
        status,
    )


def _show_errors(form, errors: dict[str, str]) -> None:
    for key, message in errors.items():
        target = getattr(form, key, None)
        if target is not None and hasattr(target, "errors"):
            target.errors = [*target.errors, message]
        else:
            form.form_errors.append(message)


@bp.route("/campaigns/new", methods=["GET", "POST"])
@roles_required(*MARKETING)
def new():
    form = _campaign_form(None)
    if form.validate_on_submit():
        session = db_session()
        try:
            campaign = service.create_campaign(
                session, _campaign_data(form), user_id=current_user.id
            )
        except service.CampaignInvalid as exc:
            session.rollback()
            _show_errors(form, exc.errors)
        else:
            session.commit()
            flash(_("Campaign %(name)s saved.", name=campaign.name), "success")
            return redirect(url_for("campaigns.edit", campaign_id=campaign.id))
    return _editor_page(None, form, status=400 if request.method == "POST" else 200)


@bp.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"])
@roles_required(*MARKETING)
def edit(campaign_id: int):
    campaign = _or_404(service.get_campaign, campaign_id)
    form = _campaign_form(campaign)
    if form.validate_on_submit():
        session = db_session()
        try:
            service.update_campaign(session, campaign_id, _campaign_data(form))
        except service.CampaignInvalid as exc:
            session.rollback()
            _show_errors(form, exc.errors)
        except service.CampaignLocked as exc:
            session.rollback()
            form.form_errors.append(str(exc))
        else:
            session.commit()
            flash(_("Campaign saved."), "success")
            return redirect(url_for("campaigns.edit", campaign_id=campaign_id))
        campaign = _or_404(service.get_campaign, campaign_id)
    return _editor_page(campaign, form, status=400 if request.method == "POST" else 200)


@bp.get("/campaigns/<int:campaign_id>/preview")
@content_security_policy(style_src=MAIL_STYLES, img_src="'self' data: https: http:")
@roles_required(*MARKETING)
def preview(campaign_id: int):
    session = db_session()
    campaign = _or_404(service.get_campaign, campaign_id)
    customer_id = bounded_int(request.args.get("customer_id"))
    query = request.args.get("q", "")
    error, rendered, status = None, None, 200
    try:
        rendered = service.preview_campaign(session, campaign_id, customer_id)
    except service.NotFound:
        error, status = _("That customer does not exist."), 404
    except TemplateProblem as exc:
        error, status = str(exc), 400
    return (
        render_template(
            "campaigns/preview.html",
            campaign=campaign,
            rendered=rendered,
            error=error,
            customers=service.preview_customers(session, query),
            query=query,
            customer_id=customer_id,
        ),
        status,
    )


@bp.post("/campaigns/<int:campaign_id>/test")
@roles_required(*MARKETING)
def test_send(campaign_id: int):
    campaign = _or_404(service.get_campaign, campaign_id)
    test_form = TestSendForm()
    if not test_form.validate_on_submit():
        return _editor_page(campaign, test_form=test_form, status=400)
    raw_customer = test_form.customer_id.data or ""
    try:
        addresses = service.parse_test_addresses(test_form.addresses.data or "")
        service.check_sendable(campaign)
    except service.CampaignInvalid as exc:
        test_form.addresses.errors = list(exc.errors.values())
        return _editor_page(campaign, test_form=test_form, status=400)
    editor_jobs.enqueue_test_send(
        _config(), campaign_id, addresses, int(raw_customer) if raw_customer.isdigit() else None
    )
    flash(_("Test sent to %(addresses)s.", addresses=", ".join(addresses)), "success")
    return redirect(url_for("campaigns.edit", campaign_id=campaign_id))


@bp.post("/campaigns/<int:campaign_id>/schedule")
@roles_required(*MARKETING)
def schedule(campaign_id: int):
    session = db_session()
    campaign = _or_404(service.get_campaign, campaign_id)
    schedule_form = ScheduleForm()
    if not schedule_form.validate_on_submit():
        return _editor_page(campaign, schedule_form=schedule_form, status=400)
    action = request.form.get("action", "schedule")
    timezone = current_user.timezone or _config().default_timezone
    try:
        if action == "send_now":
            count = service.send_now(session, campaign_id, enqueue_jobs=enqueuer(_config()))
            message = ngettext(
                "Sending to %(num)d recipient.", "Sending to %(num)d recipients.", count
            )
        elif action == "unschedule":
            service.unschedule_campaign(session, campaign_id)
            session.commit()
            message = _("The campaign is a draft again.")
        else:
            send_at = service.local_to_utc(schedule_form.send_at.data or "", timezone)
            service.schedule_campaign(session, campaign_id, send_at)
            session.commit()
            editor_jobs.schedule_start(_config(), campaign_id, send_at)
            message = _("Campaign scheduled.")
    except service.CampaignInvalid as exc:
        session.rollback()
        schedule_form.send_at.errors = list(exc.errors.values())
        return _editor_page(campaign, schedule_form=schedule_form, status=400)
    except service.CampaignLocked as exc:
        session.rollback()
        schedule_form.send_at.errors = [str(exc)]
        return _editor_page(campaign, schedule_form=schedule_form, status=400)
    flash(message, "success")
    return redirect(url_for("campaigns.edit", campaign_id=campaign_id))


@bp.post("/campaigns/<int:campaign_id>/control")
@roles_required(*MARKETING)
def control(campaign_id: int):
    """Pause, resume or cancel a campaign that is sending (or scheduled, for cancel)."""
    session = db_session()
    campaign = _or_404(service.get_campaign, campaign_id)
    action = request.form.get("action", "")
    try:
        if action == "pause":
            sending.pause_campaign(session, campaign_id, utcnow(), paused_by=current_user.name)
            message = _("Campaign paused; batches in flight finish first.")
        elif action == "resume":
            sending.resume_campaign(
                session, campaign_id, utcnow(), enqueue_jobs=enqueuer(_config())
            )
            message = _("Sending resumed.")
        elif action == "cancel":
            sending.cancel_campaign(session, campaign_id, utcnow())
            message = _("Campaign cancelled; recipients not yet sent to are skipped.")
        else:
            abort(400)
        session.commit()
    except sending.CampaignStateError:
        session.rollback()
        flash(_("The campaign cannot do that in its current state."), "error")
        return _editor_page(campaign, status=409)
    flash(message, "success")
    return redirect(url_for("campaigns.edit", campaign_id=campaign_id))


# --- marketing rules ------------------------------------------------------------------


def _rules_form() -> MarketingRulesForm:
    if request.method == "POST":
        return MarketingRulesForm()
    rules = marketing_rules.get_rules(db_session(), _config().default_timezone)
    return MarketingRulesForm(
        formdata=None,
        cap_enabled=rules.cap_messages is not None,
        cap_messages=str(rules.cap_messages or 3),
        cap_days=str(rules.cap_days),
        quiet_enabled=rules.quiet_start is not None,
        quiet_start=f"{rules.quiet_start:%H:%M}" if rules.quiet_start else "21:00",
        quiet_end=f"{rules.quiet_end:%H:%M}" if rules.quiet_end else "08:00",
        timezone=rules.timezone,
    )


@bp.route("/campaigns/rules", methods=["GET", "POST"])
@roles_required(*MARKETING)
def rules():
    form = _rules_form()
    if form.validate_on_submit():
        session = db_session()
        data = marketing_rules.RulesData(
            cap_enabled=form.cap_enabled.data,
            cap_messages=form.cap_messages.data or "",
            cap_days=form.cap_days.data or "",
            quiet_enabled=form.quiet_enabled.data,
            quiet_start=form.quiet_start.data or "",
            quiet_end=form.quiet_end.data or "",
            timezone=form.timezone.data or "",
        )
        try:
            marketing_rules.save_rules(session, data)
        except marketing_rules.RulesInvalid as exc:
            session.rollback()
            _show_errors(form, exc.errors)
        else:
            session.commit()
            flash(_("Marketing rules saved."), "success")
            return redirect(url_for("campaigns.rules"))
    status = 400 if request.method == "POST" else 200
    return render_template("campaigns/rules.html", form=form), status
