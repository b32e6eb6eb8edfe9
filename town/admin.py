"""Django admin for the town: worlds (with the operator actions), people, residents, chat, audit.

Each action calls the same service function as `manage.py town …` and the staff button.
Jobs are in procrastinate's own admin; memories and model calls in agents/admin.py; actions
that reach into music or the minds are added to the world's page by ops/admin.py.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpResponse, StreamingHttpResponse

from town import residents, services, transfer
from town.language import KNOWN, set_world_language, world_language
from town.models import AuditEntry, Conversation, Message, Player, World


class Resident(Player):
    """The town's AI residents, as their own admin page."""

    class Meta:
        proxy = True


class Person(Player):
    """Human players, as their own admin page."""

    class Meta:
        proxy = True
        verbose_name = "player"


def on_each_world(modeladmin, request, queryset, action, done: str) -> None:
    """Run a service action on every selected world; report successes and refusals."""
    for world in queryset:
        try:
            action(world)
        except services.WrongState as exc:
            modeladmin.message_user(request, f"{world.name}: {exc}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{world.name}: {done}", messages.SUCCESS)


@admin.action(description="Freeze (stop engine and minds)")
def freeze(modeladmin, request, queryset):
    on_each_world(
        modeladmin,
        request,
        queryset,
        lambda w: services.freeze_world(w.pk, actor=request.user),
        "frozen",
    )


@admin.action(description="Resume")
def resume(modeladmin, request, queryset):
    on_each_world(
        modeladmin,
        request,
        queryset,
        lambda w: services.resume_world(w.pk, actor=request.user),
        "resumed",
    )


@admin.action(description="Kick (restart a stuck engine and minds)")
def kick(modeladmin, request, queryset):
    on_each_world(
        modeladmin,
        request,
        queryset,
        lambda w: services.kick_world(w.pk, actor=request.user),
        "kicked",
    )


@admin.action(description="Archive (stop for good, keep readable)")
def archive(modeladmin, request, queryset):
    on_each_world(
        modeladmin,
        request,
        queryset,
        lambda w: services.archive_world(w.pk, actor=request.user),
        "archived",
    )


@admin.action(description="Fork (copy with memories)")
def fork(modeladmin, request, queryset):
    def copy(world: World) -> None:
        transfer.fork_world(world.pk, f"{world.name} (fork)", actor=request.user)

    on_each_world(modeladmin, request, queryset, copy, "forked")


@admin.action(description="Export as JSON lines")
def export(modeladmin, request, queryset) -> HttpResponse | None:
    if queryset.count() != 1:
        modeladmin.message_user(request, "Export one world at a time.", messages.WARNING)
        return None
    world = queryset.get()
    lines = (line + "\n" for line in transfer.export_world(world.pk, actor=request.user))
    response = StreamingHttpResponse(lines, content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="world-{world.pk}.jsonl"'
    return response


class WorldForm(forms.ModelForm):
    """A world's fields plus its residents' language (saved through `set_world_language`)."""

    language = forms.ChoiceField(
        choices=sorted(((code, f"{name} ({code})") for code, name in KNOWN.items()), key=str),
        help_text="The language the residents think and speak in (from their next line).",
    )

    class Meta:
        model = World
        fields = ["name", "map_name", "seed", "settings"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("language", world_language(self.instance))


@admin.register(World)
class WorldAdmin(admin.ModelAdmin):
    form = WorldForm
    list_display = [
        "id",
        "name",
        "status",
        "frozen_reason",
        "is_current",
        "last_heartbeat",
        "humans",
        "language",
        "created",
    ]
    list_filter = ["status", "is_current"]
    search_fields = ["name"]
    readonly_fields = [
        "status",
        "frozen_reason",
        "is_current",
        "clock_ms",
        "last_heartbeat",
        "created",
    ]
    actions = [freeze, resume, kick, archive, fork, export]

    def get_queryset(self, request):
        humans = Count("players", filter=Q(players__kind=Player.Kind.HUMAN, players__present=True))
        return super().get_queryset(request).annotate(humans=humans)

    @admin.display(description="players online", ordering="humans")
    def humans(self, world: World) -> int:
        return world.humans

    @admin.display(description="language")
    def language(self, world: World) -> str:
        return world_language(world)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        chosen = form.cleaned_data.get("language")
        if chosen and chosen != world_language(obj):
            set_world_language(obj, chosen, actor=request.user)


class PlayerAdminBase(admin.ModelAdmin):
    list_display = ["name", "pid", "world", "character", "present", "created"]
    list_filter = ["world", "present"]
    search_fields = ["name", "pid"]
    readonly_fields = ["world", "pid", "kind", "created"]
    kind = ""

    def get_queryset(self, request):
        return super().get_queryset(request).filter(kind=self.kind).select_related("world")


@admin.register(Person)
class PersonAdmin(PlayerAdminBase):
    list_display = [*PlayerAdminBase.list_display, "user"]
    search_fields = [*PlayerAdminBase.search_fields, "user__username"]
    kind = Player.Kind.HUMAN


class ResidentForm(forms.ModelForm):
    """Checks a resident by the rules of `town resident` before anything is saved."""

    class Meta:
        model = Resident
        fields = ["world", "pid", "name", "character", "identity", "data"]
        help_texts = {
            "data": 'home, routine, traits, age as in residents.toml, e.g. {"home": "home_ada", '
            '"routine": [{"hour": 7, "area": "cafe", "activity": "baking"}], "age": 34}',
            "character": "a sprite sheet name from static/sprites/characters.json",
        }

    def clean(self):
        cleaned = super().clean()
        world = cleaned.get("world") or getattr(self.instance, "world", None)
        data = cleaned.get("data")
        if world is None or self.errors:
            return cleaned
        if not isinstance(data, dict):
            raise forms.ValidationError("data must be a JSON object")
        try:
            residents.check(world, _resident_spec(self.instance.pid or cleaned["pid"], cleaned))
        except residents.InvalidResident as exc:
            raise forms.ValidationError(str(exc)) from None
        return cleaned


def _resident_spec(pid: str, values: dict) -> dict:
    data = {k: v for k, v in (values.get("data") or {}).items() if k != "character"}
    fields = {k: values.get(k) for k in ("name", "character", "identity")}
    return {**data, **fields, "id": pid}


@admin.action(description="Retire selected residents (they leave; memories are kept)")
def retire_residents(modeladmin, request, queryset):
    for resident in queryset:
        try:
            residents.retire_resident(resident.world_id, resident.pid, actor=request.user)
        except (services.WrongState, LookupError) as exc:
            modeladmin.message_user(request, f"{resident.name}: {exc}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{resident.name}: retired", messages.SUCCESS)


@admin.action(description="Bring back selected retired residents")
def readd_residents(modeladmin, request, queryset):
    for resident in queryset:
        try:
            residents.add_resident(resident.world_id, {"id": resident.pid}, actor=request.user)
        except (services.WrongState, LookupError) as exc:
            modeladmin.message_user(request, f"{resident.name}: {exc}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{resident.name}: back", messages.SUCCESS)


@admin.register(Resident)
class ResidentAdmin(PlayerAdminBase):
    """Adds, edits and retirements go through town/residents.py, live in a running world."""

    form = ResidentForm
    fields = ["world", "pid", "kind", "name", "character", "identity", "data", "present", "created"]
    actions = [retire_residents, readd_residents]
    kind = Player.Kind.AGENT

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["kind", "present", "created"]
        return ["world", "pid", "kind", "present", "created"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # retire instead: memories, chat and replay keep pointing at the row

    def save_model(self, request, obj, form, change) -> None:
        spec = _resident_spec(obj.pid, form.cleaned_data)
        try:
            if change:
                residents.edit_resident(obj.world_id, obj.pid, spec, actor=request.user)
            else:
                obj.pk = residents.add_resident(obj.world_id, spec, actor=request.user).pk
        except (services.WrongState, LookupError) as exc:  # a race with another change
            self.message_user(request, f"{obj.name}: not saved: {exc}", messages.ERROR)


class MessageInline(admin.TabularInline):
    model = Message
    fields = ["t", "author_name", "author_user", "text"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["cid", "world", "participants", "end_reason", "created", "ended"]
    list_filter = ["world", "end_reason"]
    search_fields = ["cid", "summary"]
    readonly_fields = [
        "world",
        "cid",
        "participants",
        "started_t",
        "ended_t",
        "end_reason",
        "created",
        "ended",
    ]
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["created", "world", "author_name", "author_user", "text"]
    list_filter = ["world"]
    search_fields = ["text", "author_name", "author_user__username"]
    readonly_fields = ["world", "conversation", "mid", "author", "author_user", "t", "created"]
    list_select_related = ["world", "author_user"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created", "actor_label", "action", "world", "detail"]
    list_filter = ["action", "actor_label"]
    search_fields = ["action", "actor_label"]
    list_select_related = ["world"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
