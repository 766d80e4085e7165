import { html, type SafeHtml } from './html.ts';

/** What the header needs to know about the shopper. */
export interface Shopper {
  customerName: string | null;
  cartQty: number;
}

/** The page shell every storefront page shares: header with account and cart links, main, footer. */
export function layout(options: { title: string; shopper: Shopper; body: SafeHtml; scripts?: string[] }): string {
  const { title, shopper, body } = options;
  return `<!doctype html>\n${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} | Strangler Demo Shop</title>
<link rel="stylesheet" href="/static/styles.css">
</head>
<body>
<header class="page-header">
  <a class="logo" href="/">Strangler Demo Shop</a>
  <nav class="header-links">
    ${shopper.customerName ? html`<span class="greet welcome">Welcome, ${shopper.customerName}!</span> <a href="/customer/account">My Account</a> <a href="/customer/account/logout">Sign Out</a>` : html`<a href="/customer/account/login">Sign In</a>`}
    <a class="minicart" href="/checkout/cart">My Cart <span class="counter-number">${shopper.cartQty}</span></a>
  </nav>
</header>
<main id="maincontent" class="page-main">
${body}
</main>
<footer class="page-footer"><p>A Magento-like legacy shop, strangled one endpoint at a time.</p></footer>
${(options.scripts ?? []).map((src) => html`<script src="${src}" defer></script>`)}
</body>
</html>`.text}\n`;
}
