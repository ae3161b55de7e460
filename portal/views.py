"""The member portal. Thin views: selectors read, services write, templates explain."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from loyalty.errors import InsufficientPoints, LedgerError
from portal.export import member_export
from portal.forms import ActivityFilterForm, DeleteAccountForm, ProfileForm
from portal.selectors import activity, dashboard, member_account
from portal.services import member_delete, member_profile_update, profile_complete
from rewards.errors import RewardRefused
from rewards.models import Redemption, Reward
from rewards.selectors import (
    redemptions_of,
    reward_eligibility,
    rewards_live,
    rewards_with_eligibility,
)
from rewards.services import redemption_cancel, reward_redeem

PAGE_SIZE = 25


class MemberView(LoginRequiredMixin, View):
    """Every portal page: signed in, and working only on the member's own account."""

    def account(self):
        return member_account(member=self.request.user)


class DashboardView(MemberView, TemplateView):
    template_name = "portal/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "d": dashboard(member=self.request.user)}


class ActivityView(MemberView, TemplateView):
    template_name = "portal/activity.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        form = ActivityFilterForm(self.request.GET or None)
        filters = form.cleaned_data if form.is_valid() else {}
        account = self.account()
        entries = activity(account=account, **{k: v for k, v in filters.items() if v})
        page = Paginator(entries, PAGE_SIZE).get_page(self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        return {
            **super().get_context_data(**kwargs),
            "form": form,
            "page": page,
            "account": account,
            "query": query.urlencode(),
        }


class RewardListView(MemberView, TemplateView):
    template_name = "portal/rewards.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        account = self.account()
        rows = rewards_with_eligibility(account=account)
        return {**super().get_context_data(**kwargs), "rows": rows, "account": account}


def _reward_for(account, pk: int):
    reward = get_object_or_404(rewards_live(), pk=pk)
    redeemed = Redemption.objects.filter(account=account, reward=reward, status="completed").count()
    return reward, reward_eligibility(reward=reward, account=account, redeemed=redeemed)


class RewardDetailView(MemberView, TemplateView):
    template_name = "portal/reward_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        account = self.account()
        reward, verdict = _reward_for(account, kwargs["pk"])
        return {
            **super().get_context_data(**kwargs),
            "reward": reward,
            "verdict": verdict,
            "account": account,
        }


class RedeemView(MemberView, TemplateView):
    """GET: the confirmation step (a fragment for htmx, a page otherwise).
    POST: redeem, once per confirmation (its key makes a double submit harmless)."""

    template_name = "portal/redeem_confirm.html"

    def get_template_names(self) -> list[str]:
        if self.request.headers.get("HX-Request"):
            return ["portal/_redeem_confirm.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        account = self.account()
        reward, verdict = _reward_for(account, kwargs["pk"])
        return {
            **super().get_context_data(**kwargs),
            "reward": reward,
            "verdict": verdict,
            "account": account,
            "after": account.balance - reward.points_cost,
            "key": uuid.uuid4().hex,
        }

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = self.account()
        reward = get_object_or_404(Reward, pk=pk)
        key = f"portal:{request.user.pk}:{request.POST.get('key', '')[:64]}"
        try:
            redemption = reward_redeem(account=account, reward=reward, idempotency_key=key)
        except (RewardRefused, InsufficientPoints) as refusal:
            messages.error(request, refusal.message)
            return redirect("portal:reward", pk=pk)
        request.session["happy_moment"] = "redemption"
        return redirect(f"{reverse('portal:voucher', args=[redemption.pk])}?new=1")


class VoucherListView(MemberView, TemplateView):
    template_name = "portal/vouchers.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        redemptions = redemptions_of(account=self.account())
        return {
            **super().get_context_data(**kwargs),
            "redemptions": redemptions,
            "now": timezone.now(),
        }


class VoucherDetailView(MemberView, TemplateView):
    template_name = "portal/voucher_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        redemption = get_object_or_404(redemptions_of(account=self.account()), pk=kwargs["pk"])
        happy = self.request.session.pop("happy_moment", "") if self.request.GET.get("new") else ""
        return {
            **super().get_context_data(**kwargs),
            "redemption": redemption,
            "voucher": redemption.voucher,
            "happy": happy,
            "now": timezone.now(),
        }


class VoucherCancelView(MemberView):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        redemption = get_object_or_404(redemptions_of(account=self.account()), pk=pk)
        try:
            redemption_cancel(
                redemption=redemption,
                by=request.user,
                by_member=True,
                reason=_("cancelled by the member"),
            )
        except LedgerError as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, _("Cancelled: your points are back."))
        return redirect("portal:vouchers")


class ProfileView(MemberView, TemplateView):
    template_name = "portal/profile.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        form = kwargs.get("form") or ProfileForm(instance=self.request.user)
        return {
            **super().get_context_data(**kwargs),
            "form": form,
            "complete": profile_complete(self.request.user),
        }

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ProfileForm(request.POST, instance=request.user)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        outcome = member_profile_update(user=request.user, data=form.cleaned_data)
        messages.success(request, _("Your profile is saved."))
        if outcome and not outcome.replayed and outcome.event.points_awarded:
            messages.success(
                request,
                _("Thank you for completing your profile: %(points)d points!")
                % {"points": outcome.event.points_awarded},
            )
        response = redirect("portal:profile")
        response.set_cookie("django_language", form.cleaned_data["language"], samesite="Lax")
        return response


class ExportView(MemberView):
    """GET: what the file holds, and a button. POST (CSRF-checked): the signed-in member's
    own data as a JSON download; nothing in the request chooses whose data it is."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "portal/export.html")

    def post(self, request: HttpRequest) -> HttpResponse:
        data = json.dumps(
            member_export(user=request.user), cls=DjangoJSONEncoder, indent=2, ensure_ascii=False
        )
        response = HttpResponse(data, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="my-vafa-data.json"'
        response["Cache-Control"] = "no-store"
        return response


class DeleteAccountView(MemberView):
    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "portal/delete.html", {"form": DeleteAccountForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = DeleteAccountForm(request.POST)
        if not form.is_valid():
            return render(request, "portal/delete.html", {"form": form})
        member_delete(user=request.user)
        logout(request)
        return render(request, "portal/deleted.html")
