import logging

from app.logs import undo_spinner_debug_level


class SpinnerHandler(logging.Handler):
    def emit(self, record):
        pass


def test_root_level_goes_back_to_the_handlers_level():
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    try:
        root.handlers[:] = [logging.StreamHandler(), SpinnerHandler(level=logging.DEBUG)]
        root.handlers[0].setLevel(logging.WARNING)
        root.setLevel(logging.DEBUG)
        undo_spinner_debug_level()
        assert root.level == logging.WARNING
        assert not logging.getLogger("aiokafka.producer").isEnabledFor(logging.DEBUG)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def test_debug_asked_for_is_left_alone():
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    try:
        root.handlers[:] = [logging.StreamHandler()]
        root.handlers[0].setLevel(logging.DEBUG)
        root.setLevel(logging.DEBUG)
        undo_spinner_debug_level()
        assert root.level == logging.DEBUG
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
