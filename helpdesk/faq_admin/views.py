"""Staff FAQ pages (articles, history, categories) and the agent workspace endpoints
(suggestions for a ticket, counting an inserted answer)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from helpdesk import nav
from helpdesk.auth.permissions import SUPPORT, roles_required
from helpdesk.faq import service
from helpdesk.faq.forms import ArticleForm, CategoryForm
from helpdesk.faq.models import Article, Category
from helpdesk.faq_admin import workspace
from helpdesk.tickets.suggestions import suggestions_for_ticket
from helpdesk.web import Page, bounded_int, db_session, page_number

bp = Blueprint("faq_admin", __name__)
nav.add_main("faq_admin.index", _l("FAQ"), SUPPORT, order=30)

PAGE_SIZE = 25
FILTER_ARGS = ("q", "language", "status", "category", "sort")


def _filter() -> service.ArticleFilter:
    args = request.args
    sort = args.get("sort", "updated")
    return service.ArticleFilter(
        text=args.get("q", "")[:200],
        language=args.get("language", ""),
        status=args.get("status", ""),
        category_id=bounded_int(args.get("category")),
        sort=sort if sort in service.STAFF_SORTS else "updated",
    )


@bp.get("/faq/admin")
@roles_required(*SUPPORT)
def index():
    session = db_session()
    flt = _filter()
    number = page_number()
    articles, total = service.list_articles(
        session, flt, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    return render_template(
        "faq/admin/index.html",
        articles=articles,
        page=Page(number=number, size=PAGE_SIZE, total=total),
        flt=flt,
        filter_args={k: request.args[k] for k in FILTER_ARGS if request.args.get(k)},
        categories=service.list_categories(session),
    )


def _show_errors(form, exc: service.InvalidInput) -> None:
    for name, message in exc.errors.items():
        if name in form:
            form[name].errors = [*form[name].errors, message]
        else:
            form.form_errors.append(message)


def _data(form: ArticleForm) -> service.ArticleData:
    return service.ArticleData(
        title=form.title.data or "",
        body=form.body.data or "",
        language=form.language.data or "",
        status=form.status.data or "",
        category_id=form.category_id.data,
        tags=form.tags.data or "",
        slug=form.slug.data or "",
    )


@bp.route("/faq/admin/new", methods=["GET", "POST"])
@roles_required(*SUPPORT)
def new():
    session = db_session()
    form = ArticleForm()
    form.set_categories(service.list_categories(session))
    source = request.args.get("from_message", "")
    if request.method == "GET" and source:
        message_id, draft = bounded_int(source), None
        if message_id is not None:
            with suppress(workspace.NotAReply):
                draft = workspace.draft_from_message(session, message_id)
        if draft is None:
            flash(_("Only a sent reply can become an FAQ article."), "error")
            return redirect(url_for("faq_admin.index"))
        form.process(data=vars(draft))
    if form.validate_on_submit():
        saved = _save(
            session, form, lambda: service.create_article(session, _data(form), current_user.id)
        )
        if saved:
            return saved
    status = 400 if form.errors or form.form_errors else 200
    return render_template("faq/admin/form.html", form=form, article=None), status


@bp.route("/faq/admin/<int:article_id>/edit", methods=["GET", "POST"])
@roles_required(*SUPPORT)
def edit(article_id: int):
    session = db_session()
    article = service.get_article(session, article_id) or abort(404)
    form = ArticleForm(
        data=vars(service.article_data(article)) if request.method == "GET" else None
    )
    form.set_categories(service.list_categories(session))
    if form.validate_on_submit():
        saved = _save(
            session,
            form,
            lambda: service.update_article(session, article_id, _data(form), current_user.id),
        )
        if saved:
            return saved
    status = 400 if form.errors or form.form_errors else 200
    return render_template("faq/admin/form.html", form=form, article=article), status


def _save(session, form, write):
    """Runs `write`; a saved article goes to its edit page, refusals go onto the form."""
    try:
        article = write()
    except service.ArticleInvalid as exc:
        session.rollback()
        _show_errors(form, exc)
        return None
    session.commit()
    flash(_("Article “%(title)s” saved.", title=article.title), "success")
    return redirect(url_for("faq_admin.edit", article_id=article.id))


@bp.get("/faq/admin/<int:article_id>/history")
@roles_required(*SUPPORT)
def history(article_id: int):
    session = db_session()
    article = service.get_article(session, article_id) or abort(404)
    revisions = service.list_revisions(session, article_id)
    editors = service.editor_names(session, [r.editor_id for r in revisions])
    return render_template(
        "faq/admin/history.html", article=article, revisions=revisions, editors=editors
    )


@bp.route("/faq/admin/categories", methods=["GET", "POST"])
@roles_required(*SUPPORT)
def categories():
    session = db_session()
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            category = service.save_category(
                session, form.name.data, form.position.data or 0, form.description.data or ""
            )
        except service.CategoryInvalid as exc:
            session.rollback()
            _show_errors(form, exc)
        else:
            session.commit()
            flash(_("Category “%(name)s” added.", name=category.name), "success")
            return redirect(url_for("faq_admin.categories"))
    status = 400 if form.errors or form.form_errors else 200
    return render_template(
        "faq/admin/categories.html", form=form, categories=service.list_categories(session)
    ), status


@bp.route("/faq/admin/categories/<int:category_id>/edit", methods=["GET", "POST"])
@roles_required(*SUPPORT)
def edit_category(category_id: int):
    session = db_session()
    category = session.get(Category, category_id) or abort(404)
    form = CategoryForm(obj=category if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            service.save_category(
                session,
                form.name.data,
                form.position.data or 0,
                form.description.data or "",
                category_id=category_id,
            )
        except service.CategoryInvalid as exc:
            session.rollback()
            _show_errors(form, exc)
        else:
            session.commit()
            flash(_("Category saved."), "success")
            return redirect(url_for("faq_admin.categories"))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("faq/admin/category_form.html", form=form, category=category), status


# -- agent workspace ----------------------------------------------------------------


def _json_error(message: str, status: int):
    return jsonify({"error": message}), status


@bp.get("/faq/suggest")
@roles_required(*SUPPORT)
def suggest():
    ticket_id = bounded_int(request.args.get("ticket_id"), minimum=1)
    if ticket_id is None:
        return _json_error(_("ticket_id must be a ticket number."), 400)
    try:
        suggestions = suggestions_for_ticket(db_session(), ticket_id)
    except service.TicketNotFound:
        return _json_error(_("There is no ticket %(id)s.", id=ticket_id), 404)
    return jsonify(
        {
            "ticket_id": ticket_id,
            "suggestions": [
                s.to_dict()
                | {"url": url_for("faq.article", lang=s.language, slug=s.slug, _external=True)}
                for s in suggestions
            ],
        }
    )


@bp.post("/faq/articles/<int:article_id>/used")
@roles_required(*SUPPORT)
def used(article_id: int):
    payload = request.get_json(silent=True) or request.form
    raw = payload.get("ticket_id") if isinstance(payload, Mapping) else None
    ticket_id = bounded_int(raw, minimum=1)
    if raw not in (None, "") and ticket_id is None:
        return _json_error(_("ticket_id must be a ticket number."), 400)
    session = db_session()
    try:
        article: Article = workspace.record_use(
            session, article_id, ticket_id=ticket_id, user_id=current_user.id
        )
    except service.ArticleNotFound:
        return _json_error(_("There is no article %(id)s.", id=article_id), 404)
    except service.TicketNotFound:
        return _json_error(_("There is no ticket %(id)s.", id=ticket_id), 404)
    session.commit()
    return jsonify({"article_id": article.id, "used_in_replies": article.used_in_replies})
