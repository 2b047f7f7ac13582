/*
 * cart-editor.js: the demo shop's cart editor on the checkout page, as kco-sync.js sees it. A shop with its own
 * cart UI writes its own object with the same three methods and passes it to startKcoSync instead.
 *
 * Markup (inside the kco-sync root): [data-kco-line] per line (data-sku) holding [data-kco-quantity],
 * [data-kco-remove], [data-kco-unit-price] and [data-kco-line-total]; [data-kco-order-amount],
 * [data-kco-order-tax-amount], optional [data-kco-shipping-name] and [data-kco-shipping-amount];
 * select[data-kco-country], select[data-kco-language]; [data-kco-empty], shown for an empty cart.
 * What the shop last confirmed is kept in the fields' default values, so the page holds no copy of its own.
 * The page's words come with each cart, in its language (cart.texts, shop/checkout_words.py): anywhere in the
 * document, [data-kco-text] and [data-kco-label] name the word of their text and their aria-label; each line's
 * quantity field and remove button are named by cart.texts.lines[sku]. <html lang> follows the cart's locale.
 * A cart without texts leaves the page's words, and its lang, as they were rendered.
 */
/**
 * An amount of int minor units as the shopper's locale writes it (CLDR, through the browser's Intl): the same text
 * as the server's first render (shop/money.py's format_money, checked for every market and locale by
 * tests/test_shopper_language.py). All the shop's currencies have two decimals.
 */
export function formatMoney(minorUnits, currency, locale) {
  return new Intl.NumberFormat(locale, { style: "currency", currency }).format(minorUnits / 100);
}

/** A locale's language named in itself ("svenska"), as the server names it (shop/shopper_language.py). */
export function languageName(locale) {
  const { language } = new Intl.Locale(locale);
  return new Intl.DisplayNames([language], { type: "language" }).of(language);
}

/** A country (ISO 3166-1 alpha-2) named in the shopper's language, as the server names it. */
export function countryName(country, locale) {
  return new Intl.DisplayNames([locale], { type: "region" }).of(country);
}

export function cartEditor(root) {
  const countrySelect = root.querySelector("select[data-kco-country]");
  const languageSelect = root.querySelector("select[data-kco-language]");
  const lines = () => [...root.querySelectorAll("[data-kco-line]")];
  const quantityIn = (element) => element.closest("[data-kco-line]").querySelector("[data-kco-quantity]");

  return {
    /** Tells kco-sync of each edit: changed("cart" | "country" | "language"). */
    listen(changed) {
      root.addEventListener("input", (event) => {
        // An empty field is the shopper mid-typing: wait for a number.
        if (event.target.matches("[data-kco-quantity]") && event.target.value !== "") changed("cart");
      });
      root.addEventListener("change", (event) => {
        const input = event.target;
        if (input.matches("[data-kco-quantity]") && input.value === "") input.value = input.defaultValue;
      });
      root.addEventListener("click", (event) => {
        const button = event.target.closest("[data-kco-remove]");
        if (!button) return;
        event.preventDefault();
        // Hidden, not deleted: if the shop refuses the change, the line comes back as it was.
        quantityIn(button).value = "0";
        button.closest("[data-kco-line]").hidden = true;
        changed("cart");
      });
      // Enter in a quantity field would submit a surrounding form and reload the page; the change is queued.
      root.addEventListener("submit", (event) => {
        if (event.target.querySelector("[data-kco-quantity]")) event.preventDefault();
      });
      countrySelect?.addEventListener("change", () => changed("country"));
      languageSelect?.addEventListener("change", () => changed("language"));
    },

    /** The cart and market as the shopper set them; an emptied field counts as the last confirmed quantity. */
    wanted() {
      const items = lines().map((line) => {
        const input = line.querySelector("[data-kco-quantity]");
        return { sku: line.dataset.sku, quantity: Number(input.value === "" ? input.defaultValue : input.value) };
      });
      return { items, country: countrySelect?.value, locale: languageSelect?.value };
    },

    /** Draws the shop's cart: quantities, amounts in the cart's locale and currency, market, empty state. */
    render(cart) {
      const money = (minorUnits) => formatMoney(minorUnits, cart.currency, cart.locale);
      const show = (scope, selector, text) => {
        const element = scope.querySelector(selector);
        if (element) element.textContent = text;
      };
      for (const line of lines()) {
        const item = cart.items.find((candidate) => candidate.sku === line.dataset.sku);
        if (!item) {
          line.remove();
          continue;
        }
        line.hidden = false;
        const input = line.querySelector("[data-kco-quantity]");
        input.defaultValue = input.value = String(item.quantity);
        show(line, "[data-kco-unit-price]", money(item.unit_price));
        show(line, "[data-kco-line-total]", money(item.total_amount));
      }
      if (cart.shipping) {
        show(root, "[data-kco-shipping-name]", cart.shipping.name);
        show(root, "[data-kco-shipping-amount]", money(cart.shipping.total_amount));
      }
      show(root, "[data-kco-order-amount]", money(cart.order_amount));
      show(root, "[data-kco-order-tax-amount]", money(cart.order_tax_amount));
      renderMarket(cart);
      renderWords(cart);
      const emptyNote = root.querySelector("[data-kco-empty]");
      if (emptyNote) emptyNote.hidden = cart.items.length > 0;
      // A line this page never drew (added in another tab): only the server can render it.
      if (cart.items.some((item) => !lines().some((line) => line.dataset.sku === item.sku))) {
        window.location.reload();
      }
    },
  };

  /** The page's words in the cart's language: a new language, tax label (VAT or sales tax) or cart count. */
  function renderWords(cart) {
    const { texts } = cart;
    // A shop whose carts carry no words keeps the page's as rendered, and so their language.
    if (!texts) return;
    document.documentElement.lang = new Intl.Locale(cart.locale).language;
    document.title = texts.title;
    for (const element of document.querySelectorAll("[data-kco-text]")) {
      element.textContent = texts[element.dataset.kcoText];
    }
    for (const element of document.querySelectorAll("[data-kco-label]")) {
      element.setAttribute("aria-label", texts[element.dataset.kcoLabel]);
    }
    for (const line of lines()) {
      const words = texts.lines[line.dataset.sku];
      line.querySelector("[data-kco-quantity]").setAttribute("aria-label", words.quantity);
      line.querySelector("[data-kco-remove]").textContent = words.remove;
    }
  }

  /** Setting .value fires no change event, so drawing the market sends no request. */
  function renderMarket(cart) {
    if (countrySelect) {
      for (const option of countrySelect.options) {
        option.defaultSelected = option.value === cart.country;
        option.textContent = countryName(option.value, cart.locale);
      }
      countrySelect.value = cart.country;
    }
    if (!languageSelect) return;
    languageSelect.replaceChildren(...cart.locales.map(
      (locale) => new Option(languageName(locale), locale, locale === cart.locale, locale === cart.locale)));
  }
}
