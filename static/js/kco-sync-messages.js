/*
 * kco-sync-messages.js: what kco-sync.js tells the shopper when the shop could not answer at all, in each
 * language the shop sells in. Every other message comes from the shop's own error answer ("message").
 * Translate or add a language here; a locale without its own entry falls back to its language, then English.
 *   timeout: no answer within data-timeout-ms;  offline: the request never reached the shop;
 *   failed:  an answer the page could not read, or a bug on the page.
 */
const MESSAGES = Object.freeze({
  en: {
    timeout: "The shop took too long to answer. Please try again.",
    offline: "You seem to be offline. Your cart is as shown; please try again.",
    failed: "Something went wrong on this page. Please reload it.",
  },
  sv: {
    timeout: "Butiken svarade inte i tid. Försök igen.",
    offline: "Du verkar vara offline. Varukorgen är som den visas; försök igen.",
    failed: "Något gick fel på sidan. Ladda om den.",
  },
  nb: {
    timeout: "Butikken svarte ikke i tide. Prøv igjen.",
    offline: "Du ser ut til å være frakoblet. Handlekurven er som vist; prøv igjen.",
    failed: "Noe gikk galt på siden. Last den inn på nytt.",
  },
  da: {
    timeout: "Butikken svarede ikke i tide. Prøv igen.",
    offline: "Du ser ud til at være offline. Kurven er som vist; prøv igen.",
    failed: "Noget gik galt på siden. Genindlæs den.",
  },
  fi: {
    timeout: "Kauppa ei vastannut ajoissa. Yritä uudelleen.",
    offline: "Verkkoyhteys näyttää katkenneen. Ostoskori on kuten näytetään; yritä uudelleen.",
    failed: "Sivulla tapahtui virhe. Lataa sivu uudelleen.",
  },
  de: {
    timeout: "Der Shop hat nicht rechtzeitig geantwortet. Bitte versuchen Sie es erneut.",
    offline: "Sie scheinen offline zu sein. Ihr Warenkorb ist wie angezeigt; bitte versuchen Sie es erneut.",
    failed: "Auf dieser Seite ist ein Fehler aufgetreten. Bitte laden Sie sie neu.",
  },
  nl: {
    timeout: "De winkel antwoordde niet op tijd. Probeer het opnieuw.",
    offline: "U lijkt offline te zijn. Uw winkelwagen is zoals getoond; probeer het opnieuw.",
    failed: "Er ging iets mis op deze pagina. Laad de pagina opnieuw.",
  },
  fr: {
    timeout: "La boutique n'a pas répondu à temps. Veuillez réessayer.",
    offline: "Vous semblez être hors ligne. Votre panier est tel qu'affiché ; veuillez réessayer.",
    failed: "Une erreur s'est produite sur cette page. Veuillez la recharger.",
  },
  it: {
    timeout: "Il negozio non ha risposto in tempo. Riprova.",
    offline: "Sembra che tu sia offline. Il carrello è quello mostrato; riprova.",
    failed: "Si è verificato un errore in questa pagina. Ricaricala.",
  },
  es: {
    timeout: "La tienda no respondió a tiempo. Inténtalo de nuevo.",
    offline: "Parece que no tienes conexión. Tu carrito es el que se muestra; inténtalo de nuevo.",
    failed: "Algo salió mal en esta página. Vuelve a cargarla.",
  },
  pl: {
    timeout: "Sklep nie odpowiedział na czas. Spróbuj ponownie.",
    offline: "Wygląda na to, że nie masz połączenia. Koszyk jest taki, jak pokazano; spróbuj ponownie.",
    failed: "Na tej stronie wystąpił błąd. Odśwież ją.",
  },
});

/** The messages for a locale such as "sv-SE": its own entry, else its language's, else English. */
export function messagesFor(locale) {
  return MESSAGES[locale] ?? MESSAGES[String(locale).split("-")[0]] ?? MESSAGES.en;
}
