from django.conf import settings


def portal(request):
    return {"SUPPORT_PHONE": settings.SUPPORT_PHONE}
