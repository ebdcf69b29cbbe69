"""The FastAPI app behind `photoseek serve`: server-rendered pages (jinja2, a little vanilla JS) and
the HTTP API under /api/ (OpenAPI at /docs).

    from photoseek.web.app import create_app
    from photoseek.web.state import AppState
    app = create_app(AppState(Library("~/photos.lib")))     # then: uvicorn.run(app, port=8765)

Safe by default: photos are served only by catalog id (a path in a URL is a 404, never a file read);
request bodies are capped at MAX_BODY bytes and k at models.MAX_K; when `AppState.token` is set
every request needs it (header `Authorization: Bearer TOKEN`, the cookie the page sets from
`/?token=TOKEN`, or `?token=`); `allowed_hosts` refuses other Host headers (DNS rebinding).
The agent behind /api/ask is the CLI's Session with the same read-only tools.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import json
import os
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Annotated, Any, Iterator

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware

from photoseek.agent.explain import group_reasons, resemblance_note, result_dict
from photoseek.errors import NotFoundError, PhotoseekError
from photoseek.ingest.metadata import describe_taken_at
from photoseek.results import SearchResult, SearchSubject, levels_summary, search_subject
from photoseek.search.match import matches_first, presented
from photoseek.tools.base import FILTER_FIELDS, SEARCH_TOOLS, ToolArgumentsError
from photoseek.web.models import (
    AskRequest,
    AskResponse,
    FaceModel,
    FaceMoveRequest,
    FaceRejectRequest,
    FailureModel,
    HideRequest,
    MergeRequest,
    NameRequest,
    PersonModel,
    PersonPage,
    PhotoModel,
    SearchRequest,
    SearchResponse,
    StatsModel,
    PlaceRequest,
    StatusModel,
    TagRequest,
    TeachRequest,
    WordStatusModel,
)
from photoseek.web.state import AppState

HERE = Path(__file__).parent
#: largest request body accepted, bytes (a search or a message is far smaller)
MAX_BODY = 64 * 1024
FIRST_PAGE = 20  # results the page shows before "Show N more" (the page reads it from window.PHOTOSEEK)
TOKEN_COOKIE = "photoseek_token"
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
# formats every browser shows as they are (browsers apply a JPEG's EXIF orientation); others (HEIF, TIFF,
# AVIF, BMP, JPEG XL, camera RAW) are converted to an upright JPEG by the indexing decoder
_BROWSER_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
LARGE_SIDE = 1600  # long side of a converted photo in the detail view, pixels


# -- helpers shared by the routes, the MCP server and the CLI's client ------------------------------------


def plan_search(calls: list[Any], library: Any) -> dict[str, Any] | None:
    """The last search call of an agent plan as SearchRequest fields, so a client can refine what
    the agent ran with feedback (`more_like`/`less_like`) or `like ... but`; None when it ran none."""
    call = next((c for c in reversed(calls) if c.tool in SEARCH_TOOLS), None)
    if call is None:
        return None
    args = call.args
    out: dict[str, Any] = {name: args[name] for name in FILTER_FIELDS if args.get(name) not in (None, [], "")}
    photo = args.get("photo")
    if photo is not None and not isinstance(photo, int):
        try:
            photo = int(library.catalog.resolve_photo(photo)["id"])
        except PhotoseekError:
            photo = None
    if call.tool == "text_search":
        out["text"] = args.get("query")
    elif call.tool in ("similar_to_photo", "composed_search"):
        out["like"] = photo
        if args.get("but"):
            out["but"] = args["but"]
    elif call.tool == "text_in_photo":
        out["text_in_photo"] = args.get("text")
    elif call.tool == "filter_photos":
        out["text"] = " ".join(args.get("tags", [])) or None
    elif call.tool == "feedback":
        out.update(text=args.get("query"), more_like=args.get("more_like", []), less_like=args.get("less_like", []))
    return {k: v for k, v in out.items() if v not in (None, [], "")}


def run_search(state: AppState, request: SearchRequest) -> dict[str, Any]:
    """One search as `photoseek search --json` prints it (explanations composed)."""
    from photoseek.llm.translate import needs_translation

    library = state.library
    translating = bool(request.text and needs_translation(request.text))
    if translating:  # the translate step uses the one LLM
        state.llm_lock.acquire()
    try:
        results = library.search(
            request.text, like=request.like, but=request.but, k=request.k, filters=request.filters(),
            more_like=request.more_like, less_like=request.less_like, text_in_photo=request.text_in_photo,
        )
        searched_as = library.engine.english(request.text) if request.text else None
    finally:
        if translating:
            state.llm_lock.release()
    query = " ".join(t for t in (searched_as or request.text, request.but, request.text_in_photo) if t) or None
    # the page shows file names, so the reasons name the reference photos by file too
    references = {i for r in results for i in (*r.evidence.similar_to, *r.evidence.avoided)}
    names = {i: library.catalog.photo_name(i) for i in references}
    results = matches_first(results)  # as the banner counts them: the matches, then those only close
    out: dict[str, Any] = {"query": request.label(), "results": [result_dict(r, query, names) for r in results]}
    if searched_as and searched_as != request.text:
        out["searched_as"] = searched_as
    if results:
        # the banner counts every match, and the close photos a first page shows after them
        summary = levels_summary(_search_subject(request, searched_as, library),
                                 presented(results, min(request.k, FIRST_PAGE)), request.k)
        out["summary"] = " ".join(t for t in (summary, resemblance_note(results)) if t)
        out["groups"] = [g.to_dict() for g in group_reasons(results, query, names)]
    filters = request.filters()
    places_note = " ".join(n for n in ((library.why_empty(filters) if not results else None),
                                       library.place_note(filters)) if n)
    if places_note:  # a place with no photo is said so; photos without a position are said to be left out
        out["places_note"] = places_note
    return out


async def search_response(state: AppState, request: SearchRequest) -> Response:
    """`/api/search`'s response: from the search processes when they run and the text needs no
    translation (the LLM lives in this process), else `run_search` on a worker thread."""
    from photoseek.llm.translate import needs_translation

    workers = state.search_processes
    if workers is not None and workers.ready and not (request.text and needs_translation(request.text)):
        try:
            body = await asyncio.wrap_future(workers.submit(request))
            return Response(body, media_type="application/json")
        except BrokenProcessPool:  # a worker died (killed, out of memory): this process searches from now on
            workers.mark_broken()
    return await run_in_threadpool(lambda: json_response(run_search(state, request)))


def _search_subject(request: SearchRequest, searched_as: str | None, library) -> SearchSubject:
    """What a search looked for, in the words of the agent's answers (results.search_subject), the
    reference photo by its file name as the page shows it; people named in the text are said as the
    filter the search made of them ("with Anna" rather than "for "Anna"")."""
    text, filters = library.engine.people_in_query(request.text, request.filters())
    if text != request.text:
        searched_as = None if not text else searched_as if searched_as != request.text else text
    args = filters.to_dict()
    if text:
        return search_subject("text_search", {**args, "query": searched_as or text})
    if request.text_in_photo:
        return search_subject("text_in_photo", {**args, "text": request.text_in_photo})
    if request.like:
        photo = library.catalog.photo_name(request.like)
        if request.but:
            return search_subject("composed_search", {**args, "photo": photo, "but": request.but})
        return search_subject("similar_to_photo", {**args, "photo": photo})
    return search_subject("filter_photos", args)


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def ask_events(state: AppState, request: AskRequest) -> Iterator[tuple[str, dict[str, Any]]]:
    """One agent turn as events: session, plan, results (composed explanations), explanation
    (each model sentence as it arrives), answer (the whole AskResponse). The model is used by one
    turn at a time."""
    from photoseek.agent.session import AnswerReady, ExplanationReady, PlanReady, ResultsReady

    session_id, session = state.session(request.session)
    yield "session", {"session": session_id}
    with state.llm_lock:
        results: list[SearchResult] = []
        for event in session.ask_stream(request.message, explain=request.explain):
            if isinstance(event, PlanReady):
                yield "plan", {"plan": [c.to_dict() for c in event.plan.calls],
                               "search": plan_search(event.plan.calls, state.library)}
            elif isinstance(event, ResultsReady):
                results = event.results
                yield "results", {"results": [result_dict(r) for r in results],
                                  "groups": [g.to_dict() for g in event.groups]}
            elif isinstance(event, ExplanationReady):
                yield "explanation", {"index": event.index, "id": results[event.index].id, "text": event.text}
            elif isinstance(event, AnswerReady):
                yield "answer", answer_dict(state, event.answer, session_id)


def answer_dict(state: AppState, answer: Any, session_id: str) -> dict[str, Any]:
    out = answer.to_dict()
    out["results"] = [result_dict(r) for r in answer.results]
    out["session"] = session_id
    out["search"] = plan_search(answer.plan.calls, state.library) if answer.plan else None
    return out


# -- the app ------------------------------------------------------------------------------------------------


class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes gets 413, whether or not it says its length.
    Bodies here are small (a search, a message), so the body is read first and handed on whole."""

    def __init__(self, app: Any, limit: int = MAX_BODY):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        def too_large():
            return JSONResponse({"detail": f"request body over {self.limit} bytes"}, 413)(scope, receive, send)

        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await too_large()
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            if len(body) > self.limit:
                return await too_large()
            if not message.get("more_body"):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()  # after the body: wait for the disconnect

        await self.app(scope, replay, send)


class RequireToken:
    """ASGI middleware: when the state has a token, every request must carry it (see the module
    docstring); one given as `?token=` is set as a cookie for the page's later requests. Plain ASGI,
    not `@app.middleware("http")`, whose per-request task and streams cost the event loop about as
    much as the rest of a request's handling (bench/serve.py)."""

    def __init__(self, app: Any, state: AppState):
        self.app, self.state = app, state

    async def __call__(self, scope, receive, send):
        token = self.state.token
        if scope["type"] != "http" or token is None:
            return await self.app(scope, receive, send)
        request = Request(scope)
        given = _given_token(request)
        if given is None or not hmac.compare_digest(given.encode(), token.encode()):
            refused = JSONResponse({"detail": "this server needs its token: open the address it printed"}, 401)
            return await refused(scope, receive, send)
        if not request.query_params.get("token"):
            return await self.app(scope, receive, send)
        cookie = Response()
        cookie.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        set_cookie = [(k, v) for k, v in cookie.raw_headers if k == b"set-cookie"]

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *set_cookie]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def json_response(payload: dict[str, Any]) -> JSONResponse:
    """`payload` as the JSON the route's response model would give with exclude_none (None-valued
    keys left out, at any depth), rendered in the worker thread that made it: returning a Response
    skips FastAPI's validation and serialisation of the model on the event loop, which every
    request shares (a test checks both give the same JSON)."""
    return JSONResponse(_without_none(payload))


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


async def get_state(request: Request) -> AppState:
    # async: FastAPI resolves it on the event loop, where a plain def would take a worker thread
    return request.app.state.photoseek


State = Annotated[AppState, Depends(get_state)]


def _given_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE)


def create_app(state: AppState, *, allowed_hosts: list[str] | None = None) -> FastAPI:
    """The app over `state`. allowed_hosts: Host headers accepted (default: loopback names only;
    `["*"]` for a server reachable from other machines, which must then have a token)."""
    app = FastAPI(
        title="photoseek",
        summary="Local, private, conversational photo search: the HTTP API of `photoseek serve`.",
        version="1",
    )
    app.state.photoseek = state
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or LOOPBACK_HOSTS)
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_middleware(RequireToken, state=state)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError):
        return JSONResponse({"detail": str(exc)}, 404)

    @app.exception_handler(ToolArgumentsError)
    async def bad_arguments(request: Request, exc: ToolArgumentsError):
        return JSONResponse({"detail": str(exc)}, 422)

    @app.exception_handler(PhotoseekError)
    async def photoseek_error(request: Request, exc: PhotoseekError):
        return JSONResponse({"detail": str(exc)}, 400)

    # -- pages ------------------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index_page(request: Request, s: State):
        return templates.TemplateResponse(request, "index.html", {
            "photos": s.photo_count(), "library": str(s.library.path), "llm": s.has_llm(), "page": FIRST_PAGE,
            "indexing": s.indexing is not None and not s.indexing.finished})

    @app.get("/photo/{photo_id}", response_class=HTMLResponse, include_in_schema=False)
    def photo_page(request: Request, photo_id: str, s: State):
        s.photo_file(photo_id)  # 404 unless the catalog holds it
        info = s.library.show(int(photo_id))
        taken = describe_taken_at(info["taken_at"], info["taken_at_source"], info["utc_offset_source"], info["time_zone"])
        return templates.TemplateResponse(request, "photo.html", {"photo": info, "name": os.path.basename(info["path"]),
                                                                  "taken": taken, "llm": s.has_llm(), "photos": 1})

    @app.get("/words", response_class=HTMLResponse, include_in_schema=False)
    def words_page(request: Request, s: State):
        words = [w.to_dict() for w in s.library.words()] if _exists(s) else []
        return templates.TemplateResponse(request, "words.html", {
            "words": words, "photos": s.photo_count(), "llm": s.has_llm()})

    @app.get("/people", response_class=HTMLResponse, include_in_schema=False)
    def people_page(request: Request, s: State, hidden: bool = False):
        listed = s.library.people().list(hidden=hidden) if _exists(s) else []
        return templates.TemplateResponse(request, "people.html", {
            "people": listed, "hidden": hidden, "llm": s.has_llm(), "photos": s.photo_count(),
            "recognition": s.library.face_recognition, "library": str(s.library.path)})

    @app.get("/people/{person_id}", response_class=HTMLResponse, include_in_schema=False)
    def person_page(request: Request, person_id: int, s: State):
        people = s.library.people()
        person = people.get(person_id)
        faces = people.faces_of(person_id, limit=500)
        others = [p for p in people.list(hidden=True) if p.id != person_id]
        return templates.TemplateResponse(request, "person.html", {
            "person": person, "faces": faces, "others": others, "llm": s.has_llm(), "photos": s.photo_count()})

    # -- API ----------------------------------------------------------------------------------------------
    @app.get("/api/people", response_model=list[PersonModel], tags=["people"])
    def list_people(s: State, hidden: bool = False):
        """The people in the library's photos (`photoseek people --json`), named first."""
        return [p.to_dict() for p in s.library.people().list(hidden=hidden)] if _exists(s) else []

    @app.get("/api/people/{person_id}", response_model=PersonPage, tags=["people"])
    def get_person(person_id: int, s: State, limit: int = Query(200, ge=1, le=2000)):
        """One person and their faces (confirmed first, then the clearest)."""
        people = s.library.people()
        return {"person": people.get(person_id).to_dict(),
                "faces": [f.to_dict() for f in people.faces_of(person_id, limit=limit)]}

    @app.post("/api/people/{person_id}/name", response_model=PersonModel, tags=["people"])
    def name_person(person_id: int, request: NameRequest, s: State):
        """Name (or rename) a person; the name is kept through re-indexing and re-clustering."""
        with s.write_lock:
            return s.library.people().name(person_id, request.name).to_dict()

    @app.post("/api/people/{person_id}/merge", response_model=PersonModel, tags=["people"])
    def merge_person(person_id: int, request: MergeRequest, s: State):
        """This person is `into`: their faces join, this person is gone."""
        with s.write_lock:
            return s.library.people().merge(person_id, request.into).to_dict()

    @app.post("/api/people/{person_id}/hide", response_model=PersonModel, tags=["people"])
    def hide_person(person_id: int, request: HideRequest, s: State):
        """Hide a person from the people list (or show them again)."""
        with s.write_lock:
            return s.library.people().hide(person_id, request.hidden).to_dict()

    @app.delete("/api/people/{person_id}", tags=["people"])
    def forget_person(person_id: int, s: State):
        """Forget a person: their faces' descriptors and crops, their name, what you said of them."""
        with s.write_lock:
            return s.library.people().forget(person_id).to_dict()

    @app.get("/api/faces/{face_id}/crop", tags=["people"], response_class=Response)
    def face_crop(face_id: int, s: State):
        """The face's crop (JPEG, 128 px, upright)."""
        return Response(s.library.people().crop(face_id), media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=3600"})

    @app.post("/api/faces/{face_id}/reject", response_model=FaceModel, tags=["people"])
    def reject_face(face_id: int, request: FaceRejectRequest, s: State):
        """"Not this person": the face leaves them and never comes back to them."""
        with s.write_lock:
            return s.library.people().reject(face_id, request.person).to_dict()

    @app.post("/api/faces/{face_id}/move", response_model=PersonModel, tags=["people"])
    def move_face(face_id: int, request: FaceMoveRequest, s: State):
        """This face is `person` (an id or a name; a new name makes that person)."""
        with s.write_lock:
            return s.library.people().move(face_id, request.person).to_dict()

    @app.get("/api/photos/{photo_id}/faces", response_model=list[FaceModel], tags=["photos"])
    def photo_faces(photo_id: str, s: State):
        """The recognised faces in a photo, left to right, and who each is."""
        s.photo_file(photo_id)
        return [f.to_dict() for f in s.library.people().faces_in_photo(int(photo_id))]

    @app.get("/api/search", response_model=SearchResponse, response_model_exclude_none=True, tags=["search"])
    async def search_get(request: Annotated[SearchRequest, Query()], s: State):
        """Any search kind by query parameters (lists repeat: `more_like=3&more_like=9`)."""
        return await search_response(s, request)

    @app.post("/api/search", response_model=SearchResponse, response_model_exclude_none=True, tags=["search"])
    async def search_post(request: SearchRequest, s: State):
        """Any search kind: text, like (+ but), text_in_photo, more_like/less_like, filters."""
        return await search_response(s, request)

    @app.post("/api/ask", response_model=AskResponse, response_model_exclude_none=True, tags=["ask"])
    def ask(request: AskRequest, s: State):
        """One conversational turn; pass the returned `session` to continue the conversation."""
        answer = None
        for event, data in ask_events(s, request):
            if event == "answer":
                answer = data
        return answer

    @app.post("/api/ask/stream", tags=["ask"], response_class=StreamingResponse,
              responses={200: {"content": {"text/event-stream": {}}}})
    def ask_stream(request: AskRequest, s: State):
        """The same turn as server-sent events: `session`, `plan`, `results`, `explanation`
        (one per model sentence, as it arrives), `answer` (the /api/ask response); `error` instead
        when the turn cannot finish."""
        def events():
            try:
                for event, data in ask_events(s, request):
                    yield _sse(event, data)
            except PhotoseekError as exc:  # headers are sent: the error travels as an event
                yield _sse("error", {"detail": str(exc)})

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    @app.get("/api/photos/{photo_id}", response_model=PhotoModel, tags=["photos"])
    def show(photo_id: str, s: State):
        """What the catalog knows about a photo (`photoseek show --json`)."""
        s.photo_file(photo_id)
        return s.library.show(int(photo_id))

    @app.get("/api/photos/{photo_id}/thumbnail", tags=["photos"], response_class=FileResponse)
    def thumbnail(photo_id: str, s: State):
        """The photo's JPEG thumbnail (256 px on the long side)."""
        s.photo_file(photo_id)
        path = s.library.thumbnail_path(int(photo_id))
        if path is None:
            raise HTTPException(404, "no thumbnail for this photo")
        return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/api/photos/{photo_id}/image", tags=["photos"], response_class=FileResponse)
    def image(photo_id: str, s: State):
        """The photo itself (JPEG, PNG, GIF, WebP as they are; other formats as a JPEG)."""
        path = os.fsdecode(s.photo_file(photo_id))
        fmt = s.library.catalog.resolve_photo(int(photo_id))["format"]
        if not os.path.isfile(path):
            raise HTTPException(404, "the file has moved or been deleted since it was indexed")
        if fmt in _BROWSER_FORMATS:
            return FileResponse(path, media_type=_BROWSER_FORMATS[fmt], headers={"Cache-Control": "private, max-age=3600"})
        return Response(_as_jpeg(path), media_type="image/jpeg")

    @app.post("/api/photos/{photo_id}/tags", response_model=PhotoModel, tags=["photos"])
    def tag(photo_id: str, request: TagRequest, s: State):
        """Confirm (`add`) or reject (`remove`) tags: the user's word wins over the models."""
        s.photo_file(photo_id)
        with s.write_lock:
            return s.library.tag(int(photo_id), add=request.add, remove=request.remove)

    @app.get("/api/words", response_model=list[WordStatusModel], response_model_exclude_none=True, tags=["words"])
    def words(s: State):
        """The words you taught (`photoseek words --json`): examples, photos tagged, a precision estimate."""
        return [w.to_dict() for w in s.library.words()] if _exists(s) else []

    @app.get("/api/words/{word}", response_model=WordStatusModel, response_model_exclude_none=True, tags=["words"])
    def word(word: str, s: State):
        """Where one taught word stands."""
        return s.library.word(word).to_dict()

    @app.post("/api/words", response_model=WordStatusModel, response_model_exclude_none=True, tags=["words"])
    def teach(request: TeachRequest, s: State):
        """Give a word to photos (and refuse it for others), then learn it (`photoseek teach`)."""
        for pid in [*request.photos, *request.not_photos]:
            s.photo_file(str(pid))
        with s.write_lock:
            return s.library.teach(request.word, request.photos, not_photos=request.not_photos).to_dict()

    @app.delete("/api/words/{word}", response_model=WordStatusModel, response_model_exclude_none=True, tags=["words"])
    def forget(word: str, s: State):
        """Forget a taught word: its learned tags go; your own tags of it stay (`photoseek forget`)."""
        with s.write_lock:
            return s.library.forget(word).to_dict()

    @app.post("/api/photos/{photo_id}/place", response_model=PhotoModel, tags=["photos"])
    def place(photo_id: str, request: PlaceRequest, s: State):
        """Correct where a photo was taken (`place`), say it has no known place (`place` null), or forget
        the correction (`clear`): the user's word wins over the GPS and survives re-indexing."""
        s.photo_file(photo_id)
        with s.write_lock:
            if request.clear:
                return s.library.clear_place(int(photo_id))
            return s.library.set_place(int(photo_id), request.place)

    @app.get("/api/places", tags=["library"])
    def places(s: State) -> dict[str, Any]:
        """Where the photos were taken: countries -> regions -> cities with photo counts (`photoseek places --json`)."""
        if not _exists(s):
            return {"countries": [], "located": 0, "unknown": 0}
        return s.library.places()

    @app.get("/api/trips", tags=["library"])
    def trips(s: State) -> dict[str, Any]:
        """Home and the trips away from it (`photoseek trips --json`)."""
        if not _exists(s):
            return {"home": None, "trips": [], "located": 0}
        return s.library.trips()

    @app.get("/api/errors", response_model=list[FailureModel], tags=["library"])
    def errors(s: State):
        """Files that could not be indexed, and why."""
        return s.library.errors() if _exists(s) else []

    @app.get("/api/stats", response_model=StatsModel, tags=["library"])
    def stats(s: State):
        if not _exists(s):
            return {"library": str(s.library.path), "photos": 0}
        return s.library.stats()

    @app.get("/api/status", response_model=StatusModel, tags=["library"])
    def status(s: State):
        """Photo count, the index run in progress (if any) and whether ask is available."""
        workers = s.search_processes
        return {"photos": s.photo_count(), "llm": s.has_llm(),
                "indexing": s.indexing.to_dict() if s.indexing is not None else None,
                "search_processes": workers.processes if workers is not None and workers.ready else 0}

    return app


def _exists(state: AppState) -> bool:
    try:
        state.library.catalog
        return True
    except PhotoseekError:
        return False


def _as_jpeg(path: str) -> bytes:
    """A photo browsers cannot show (HEIC, TIFF, RAW...) as an sRGB JPEG, upright, read as indexing
    reads it (its colour profile converted to sRGB)."""
    from photoseek.ingest.decode import upright_image

    try:
        image = upright_image(path, LARGE_SIDE)
    except PhotoseekError as error:
        raise HTTPException(415, f"cannot show this photo: {error}") from None
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()