from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = "Evidence"

    def ready(self) -> None:
        from .pack import pack_section_register
        from .sections import policy_versions_section, ratings_section

        pack_section_register("policy_versions", policy_versions_section)
        pack_section_register("ratings", ratings_section)
