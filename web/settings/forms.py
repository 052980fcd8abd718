"""The settings page's forms: each carries its CSRF token like every other form."""

from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import DataRequired, NumberRange


class RevokeTokenForm(FlaskForm):
    token_id = IntegerField("Token", validators=[DataRequired(), NumberRange(min=1)])


class PlainForm(FlaskForm):
    """A button with nothing to fill in: creating a token, signing out everywhere."""
