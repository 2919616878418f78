"""Office pages. (Placeholder home; the full UI is built in server/web.)"""

from litestar import Request, get
from litestar.response import Redirect, Template


@get("/", include_in_schema=False)
async def home(request: Request) -> Template:
    return Template("home.html", context={"user": request.user})


WEB_HANDLERS = [home]
_ = Redirect
