import type { Customer } from './customer-account.ts';
import { html, type SafeHtml } from './html.ts';

export function loginView(formKey: string, error: string | null, email = ''): SafeHtml {
  return html`<h1 class="page-title">Customer Login</h1>
${error ? html`<div class="message error" role="alert">${error}</div>` : html``}
<form class="form form-login" action="/customer/account/loginPost" method="post">
  <input type="hidden" name="form_key" value="${formKey}">
  <label for="email">Email</label> <input id="email" type="email" name="login[username]" value="${email}" autocomplete="username" required>
  <label for="pass">Password</label> <input id="pass" type="password" name="login[password]" autocomplete="current-password" required>
  <button type="submit" class="action login primary">Sign In</button>
</form>`;
}

export function accountView(customer: Customer): SafeHtml {
  return html`<h1 class="page-title">My Account</h1>
<div class="box box-information">
  <p class="customer-name">${customer.firstname} ${customer.lastname}</p>
  <p class="customer-email">${customer.email}</p>
  <p>Customer group: <span class="customer-group">${customer.groupCode}</span></p>
</div>`;
}
