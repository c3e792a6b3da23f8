"""A mypy plugin for the tests' factory-boy factories: calling a model factory
(`TicketFactory(site=site)`) gives the model (`Ticket`), as the factory's `create()` is typed.
factory-boy's own annotations leave such a call typed as the factory class, whose attributes
are declarations (`SubFactory`, `Sequence`), so every use of the row would read wrongly.

Named in pyproject.toml's `[tool.mypy] plugins`; it only runs inside mypy."""

from collections.abc import Callable

from mypy.maptype import map_instance_to_supertype
from mypy.nodes import TypeInfo
from mypy.plugin import FunctionContext, Plugin
from mypy.types import Instance, Type, get_proper_type

BASE_FACTORY = "factory.base.BaseFactory"


def _made(ctx: FunctionContext) -> Type:
    """The model a factory's call returns: the `T` of its `BaseFactory[T]`."""
    factory = get_proper_type(ctx.default_return_type)
    if isinstance(factory, Instance):
        base = next((info for info in factory.type.mro if info.fullname == BASE_FACTORY), None)
        if base is not None:
            made = map_instance_to_supertype(factory, base)
            if made.args:
                return made.args[0]
    return ctx.default_return_type


class FactoryCallPlugin(Plugin):
    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        symbol = self.lookup_fully_qualified(fullname)
        node = symbol.node if symbol is not None else None
        if isinstance(node, TypeInfo) and node.has_base(BASE_FACTORY):
            return _made
        return None


def plugin(version: str) -> type[Plugin]:
    return FactoryCallPlugin
