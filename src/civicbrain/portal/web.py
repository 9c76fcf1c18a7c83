"""The page helpers moved to :mod:`civicbrain.web.pages` so services' pages can use them too."""

from civicbrain.web.pages import (  # noqa: F401  (re-exported for the portal's modules)
    CSRF_FIELD,
    CSRF_HEADER,
    CSRF_SESSION_KEY,
    Ctx,
    CsrfChecked,
    CsrfRejected,
    MaybeUser,
    SignedIn,
    SignInRequired,
    check_csrf,
    csrf_token,
    current_principal,
    get_ctx,
    is_htmx,
    render,
    safe_next,
    signed_in,
    templates_of,
)
